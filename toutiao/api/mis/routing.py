"""How a /mis route declares who may call it, and the guard that enforces it.

Every endpoint function of the /mis router carries exactly one declaration, written right
under the router decorator::

    @router.get("/v1_0/channels", name="mis.channels", response_model=...)
    @requires("channel-list-get")          # a permission code of staff/catalog.py
    async def list_channels(staff: CurrentStaff, ...) -> dict: ...

    @requires(LOGIN_ONLY)    # any valid staff access token (M04-M06)
    @requires(PUBLIC)        # no token at all (M01, M02)
    @requires(REFRESH)       # a staff refresh token (M03)

A route without a declaration, with two, or with a code the catalog does not know makes
the application refuse to start (``StaffRoute`` raises while the router is built, and
:func:`check_declared` refuses any /mis route that is not a ``StaffRoute``). The guard runs
the order of checks of mis.md §1.6 before the request body is even read, so an anonymous
or unauthorised caller learns nothing from validation errors.

Writes (POST, PUT, PATCH, DELETE) must record exactly one operation-log row through the
``Audit`` dependency (deps.py); pass ``audited=False`` to :func:`requires` only for the
writes the contract leaves out of the log (M03).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute

from toutiao.api.routing import walk_routes
from toutiao.staff import auth
from toutiao.staff.catalog import ALL_CODES

log = logging.getLogger("toutiao.api.mis")

PUBLIC = "<public>"
LOGIN_ONLY = "<login>"
REFRESH = "<refresh>"
_SPECIAL = (PUBLIC, LOGIN_ONLY, REFRESH)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MIS_PREFIX = "/mis/"
STAFF_KEY = "toutiao.mis.staff"
AUDIT_KEY = "toutiao.mis.audit_rows"

F = TypeVar("F", bound=Callable[..., Any])


class RouteDeclarationError(RuntimeError):
    """A /mis route without exactly one valid permission declaration."""


@dataclass(frozen=True)
class Rule:
    permission: str
    audited: bool = True

    @property
    def code(self) -> str | None:
        """The code the guard checks; None for login-only (and the special rules)."""
        return None if self.permission in _SPECIAL else self.permission


def requires(permission: str, *, audited: bool = True) -> Callable[[F], F]:
    if permission not in _SPECIAL and permission not in ALL_CODES:
        raise RouteDeclarationError(f"unknown permission code {permission!r}")

    def declare(endpoint: F) -> F:
        if hasattr(endpoint, "__mis_rule__"):
            raise RouteDeclarationError(f"{endpoint.__qualname__} declares a permission twice")
        endpoint.__mis_rule__ = Rule(permission, audited)  # type: ignore[attr-defined]
        return endpoint

    return declare


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def guard(request: Request, rule: Rule) -> None:
    """Authenticate and authorise; the staff member lands in the request's scope (never in
    ``request.state``, which a test harness may share between requests)."""
    request.scope[STAFF_KEY] = None
    request.scope[AUDIT_KEY] = 0
    if rule.permission == PUBLIC:
        return
    runtime = request.state.runtime
    claims = auth.claims_of(runtime, _bearer(request))
    async with runtime.db.primary_read_session() as session:
        request.scope[STAFF_KEY] = await auth.authorize(
            session, claims, rule.code, refresh=rule.permission == REFRESH
        )


class StaffRoute(APIRoute):
    """An APIRoute that knows its rule and guards its handler with it."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        rule = getattr(endpoint, "__mis_rule__", None)
        if not isinstance(rule, Rule):
            raise RouteDeclarationError(
                f"/mis route {path} ({endpoint.__qualname__}) declares no permission: "
                "decorate it with requires(<code> | LOGIN_ONLY | PUBLIC | REFRESH)"
            )
        self.rule = rule
        extra = dict(kwargs.pop("openapi_extra", None) or {})
        extra["x-permission"] = rule.permission
        super().__init__(path, endpoint, openapi_extra=extra, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        rule = self.rule
        writes = bool((self.methods or set()) & WRITE_METHODS) and rule.audited

        async def guarded(request: Request) -> Response:
            await guard(request, rule)
            response = await handler(request)
            if writes and 200 <= response.status_code < 300:
                rows = request.scope.get(AUDIT_KEY, 0)
                if rows != 1:  # a bug in the endpoint: tests walk every route to catch it
                    log.error(
                        "mis.audit_rows path=%s method=%s rows=%s",
                        request.url.path,
                        request.method,
                        rows,
                    )
            return response

        return guarded


def check_declared(app: FastAPI) -> None:
    """Refuse an application with a /mis route that escapes the guard."""
    for path, route in walk_routes(app.routes):
        if path.startswith(MIS_PREFIX) and not isinstance(route, StaffRoute):
            raise RouteDeclarationError(f"/mis route {path} is not a StaffRoute")


def rule_of(route: Any) -> Rule | None:
    return route.rule if isinstance(route, StaffRoute) else None
