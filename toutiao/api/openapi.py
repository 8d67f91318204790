"""The OpenAPI document says what the server really does, derived from the routes themselves.

For every operation, from its dependencies and metadata (no endpoint lists its own errors):

- security: ``bearer`` (JWT) when a dependency reads the credentials; optional (``{}`` as an
  alternative) when that dependency is an optional one; 401/403 with it;
- 400 (never 422: validation errors are 400 with ``{"message"}``) and 404 (a path that does
  not match, an id naming no row) wherever there is input; 403 and 413 (with
  ``x-max-body-bytes``) where a body is read; 409 on writes;
- /mis routes: their ``x-permission`` declaration (public, login, refresh or a code);
- 429 where the route declares ``x-rate-limited``; 503 (load shedding) and 507 (a database or
  Redis failure) everywhere.

Surfaces register their auth dependencies with ``declare_auth``; anything depending on the
shared ``read_credentials`` is treated as an auth dependency even when not registered. A
route that calls its auth dependency itself (``toutiao.api.query``) names it with
``openapi_extra=auth_doc(dependency)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts

from toutiao.api.deps import read_credentials
from toutiao.api.limits import EXTRA_KEY, BodyLimits
from toutiao.config import Settings

RATE_LIMITED = "x-rate-limited"
AUTH_CALLED = "x-auth-called"  # a route calls this auth dependency itself (auth_doc)
PERMISSION = "x-permission"
SCHEME = "bearer"


@dataclass(frozen=True)
class AuthRule:
    required: bool
    statuses: tuple[int, ...]


_AUTH: dict[Callable[..., Any], AuthRule] = {}

_DESCRIPTIONS = {
    400: "Bad request: invalid parameters or body",
    401: "Not authenticated: token missing, invalid or expired",
    403: "Forbidden: not allowed for this user (disabled account, wrong token kind, policy)",
    404: "Not found: the path does not match or the resource does not exist",
    409: "Conflict with the current state (already exists, still in use, wrong status)",
    413: "Request body larger than this operation accepts (see x-max-body-bytes)",
    429: "Too many requests: rate limit exceeded",
    503: "Server busy (load shedding): retry after the Retry-After header's seconds",
    507: "Database or storage failure, please try again later",
}


def declare_auth(
    dependency: Callable[..., Any], *, required: bool, statuses: tuple[int, ...] = (401, 403)
) -> None:
    """Tell the document how an auth dependency behaves (surfaces call this once at import)."""
    _AUTH[dependency] = AuthRule(required=required, statuses=statuses)


def _name(dependency: Callable[..., Any]) -> str:
    return f"{dependency.__module__}.{dependency.__qualname__}"


def auth_doc(dependency: Callable[..., Any]) -> dict[str, Any]:
    """``openapi_extra`` of a route that calls ``dependency`` (declared with
    :func:`declare_auth`) itself instead of declaring it."""
    return {AUTH_CALLED: _name(dependency)}


def _called_rule(operation: dict[str, Any]) -> AuthRule | None:
    name = operation.pop(AUTH_CALLED, None)
    if name is None:
        return None
    for dependency, rule in _AUTH.items():
        if _name(dependency) == name:
            return rule
    raise LookupError(f"auth_doc names {name}, which declare_auth never registered")


def rate_limited() -> dict[str, Any]:
    """``openapi_extra`` of a route that enforces a rate limit (it may answer 429)."""
    return {RATE_LIMITED: True}


def _walk(dependant: Any) -> list[Any]:
    found = [dependant]
    for child in getattr(dependant, "dependencies", []) or []:
        found.extend(_walk(child))
    return found


def _auth_rule(dependant: Any) -> AuthRule | None:
    rules = []
    for node in _walk(dependant):
        call = getattr(node, "call", None)
        if call in _AUTH:
            rules.append(_AUTH[call])
        elif call not in (None, read_credentials) and any(
            getattr(c, "call", None) is read_credentials for c in node.dependencies
        ):
            optional = "optional" in getattr(call, "__name__", "")
            rules.append(AuthRule(required=not optional, statuses=(401, 403)))
    if not rules:
        return None
    required = any(rule.required for rule in rules)
    statuses = tuple(sorted({s for rule in rules for s in rule.statuses}))
    return AuthRule(required=required, statuses=statuses)


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}},
    }


def _statuses(
    operation: dict[str, Any], route: Any, rule: AuthRule | None, method: str
) -> set[int]:
    statuses = {503, 507}
    has_input = bool(operation.get("parameters") or operation.get("requestBody"))
    if has_input:
        statuses.update({400, 404})  # a path that does not match, an id naming no row
    if operation.get("requestBody") or operation.get(EXTRA_KEY) is not None:
        statuses.update({403, 413})  # a login may name a disabled account
    if method in {"post", "put", "patch", "delete"}:
        statuses.add(409)  # the request conflicts with the current state
    if operation.pop(RATE_LIMITED, False):
        statuses.add(429)
    if rule is not None:
        statuses.update(rule.statuses)
    return statuses


def _staff_rule(operation: dict[str, Any]) -> AuthRule | None:
    """/mis routes declare a permission (``x-permission``): public, login, refresh or a code."""
    permission = operation.get(PERMISSION)
    if permission is None or permission == "<public>":
        return None
    if permission == "<refresh>":
        return AuthRule(required=True, statuses=(403,))
    return AuthRule(required=True, statuses=(401, 403))


def _describe(operation: dict[str, Any], route: Any, limits: BodyLimits, method: str) -> None:
    rule = _called_rule(operation) or _auth_rule(route.dependant) or _staff_rule(operation)
    if rule is not None:
        operation["security"] = [{SCHEME: []}] if rule.required else [{}, {SCHEME: []}]
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    if operation.get("requestBody") or EXTRA_KEY in operation:
        operation["x-max-body-bytes"] = limits.bytes_for(operation.pop(EXTRA_KEY, None))
    for status in sorted(_statuses(operation, route, rule, method)):
        responses.setdefault(str(status), _error_response(status))


def build_openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    routes = {
        getattr(r, "unique_id", None) or r.name: r
        for r in iter_route_contexts(app.routes)
        if getattr(r, "dependant", None) is not None
    }
    limits = BodyLimits(settings)
    for operations in spec.get("paths", {}).values():
        for method, operation in operations.items():
            operation.get("responses", {}).pop("422", None)
            route = routes.get(operation.get("operationId"))
            if route is not None:
                _describe(operation, route, limits, method)
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Message"] = {
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
    }
    components["securitySchemes"] = {
        SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    app.openapi_schema = spec
    return spec


def install_openapi(app: FastAPI, settings: Settings) -> None:
    app.openapi = lambda: build_openapi(app, settings)  # type: ignore[method-assign]
