"""Per-route request body budgets, declared on the route and enforced by ``guards.BodyGuard``.

A route states what its contract can need with ``openapi_extra=body_limit(...)``:

- nothing: a JSON body of a few fields (``BODY_MAX_BYTES``, 16 KiB by default);
- ``body_limit("article")``: an article (``MP_CONTENT_MAX_BYTES`` of content, room for JSON
  escapes, plus its other fields);
- ``body_limit("images", n)``: up to ``n`` images of ``UPLOAD_MAX_BYTES`` each, as multipart
  files or base64 JSON strings.

A caller that sends no ``Authorization`` header gets the small budget everywhere: every large
body belongs to a logged-in action, so an anonymous client can never make the server hold
more than a few KiB per request.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import Match, Mount
from starlette.types import Scope

from toutiao.config import Settings

EXTRA_KEY = "x-body-limit"


def body_limit(kind: str, count: int = 1) -> dict[str, Any]:
    if kind not in {"article", "images"}:
        raise ValueError(f"unknown body kind {kind!r}")
    return {EXTRA_KEY: f"{kind}:{count}"}


class BodyLimits:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def default(self) -> int:
        return self.settings.BODY_MAX_BYTES

    def bytes_for(self, declared: str | None) -> int:
        """The byte budget of a route's ``x-body-limit`` declaration (None: the default)."""
        if not declared:
            return self.default
        kind, _, count = declared.partition(":")
        if kind == "article":
            # JSON may escape each 3-byte CJK character as a 6-byte \uXXXX
            return 2 * self.settings.MP_CONTENT_MAX_BYTES + self.default
        # base64 makes 3 bytes 4; multipart adds a few hundred bytes of headers per part
        largest = max(self.settings.UPLOAD_MAX_BYTES, self.settings.MP_IMAGE_MAX_BYTES)
        per_image = math.ceil(largest * 4 / 3) + 1024
        return self.default + int(count or 1) * per_image

    def for_route(self, route: Any) -> int:
        extra = getattr(route, "openapi_extra", None) or {}
        return self.bytes_for(extra.get(EXTRA_KEY))

    def for_scope(self, scope: Scope) -> int:
        headers = scope.get("headers") or []
        if not any(name == b"authorization" for name, _ in headers):
            return self.default
        route = matching_route(scope)
        return self.default if route is None else self.for_route(route)


def flat_routes(app: Any) -> list[Any]:
    """Every route of ``app`` with its full path, included routers expanded (cached per app)."""
    cached = getattr(app, "_toutiao_flat_routes", None)
    if cached is None:
        router = getattr(app, "router", None)
        cached = list(iter_route_contexts(list(getattr(router, "routes", []))))
        if getattr(app, "_toutiao_routes_frozen", False):
            app._toutiao_flat_routes = cached
    return cached


def freeze_routes(app: Any) -> None:
    """Called once the app has all its routes (the first request): the flat list is kept."""
    if app is not None:
        app._toutiao_routes_frozen = True


def _matches(route: Any, scope: Scope) -> Match:
    try:
        matched: tuple[Match, Any] = route.matches(scope)
    except (AttributeError, AssertionError):
        return Match.NONE
    return matched[0]


def matching_route(scope: Scope) -> Any | None:
    for route in flat_routes(scope.get("app")):
        if not isinstance(route.original_route, Mount) and _matches(route, scope) == Match.FULL:
            return route
    return None


def allowed_methods(scope: Scope) -> set[str]:
    """Every method some route serves at this path (several routes may share one path)."""
    methods: set[str] = set()
    for route in flat_routes(scope.get("app")):
        if _matches(route, scope) == Match.NONE:
            continue
        if isinstance(route.original_route, Mount):
            methods |= {"GET", "HEAD"}
        else:
            methods |= set(route.methods or ())
    return methods
