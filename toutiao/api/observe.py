"""Per-request observability: a request id, one access line and the HTTP metrics.

- The id is the client's ``X-Request-ID`` when it is short printable ASCII, else a new one;
  it is echoed in the response and lives in :data:`toutiao.kit.logs.request_id_var` while
  the request runs, so every log line, gRPC call and task enqueue made for it carries it.
- The access line ``http.request`` has method, path, route template, status, duration (ms),
  client and request id; metrics are labelled by route template, never by raw path.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toutiao.kit import heap, metrics
from toutiao.kit.logs import clean_request_id, new_request_id, request_id_var

access_log = logging.getLogger("toutiao.access")

ROUTE_KEY = "toutiao.route"
UNMATCHED = "<unmatched>"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class RouteCapture:
    """Innermost middleware: notes the route template the router matched for the request.

    Outer middlewares may hand a copied scope inward, so the template travels in a holder
    that :class:`ObserveMiddleware` put in the scope (copies share it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            holder = scope.get(ROUTE_KEY)
            route = scope.get("route")
            if holder is not None and route is not None:
                holder["route"] = route_template(route, scope.get("path", ""))


def route_template(route: Any, path: str) -> str | None:
    """``/app/v1_0/articles/{article_id}`` for a request to ``/app/v1_0/articles/1``.

    A route included under a prefix knows only its own part, so the prefix is the part of
    the request path before the segment where the route's pattern matches."""
    template: str | None = getattr(route, "path_format", None) or getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if template is None or pattern is None or pattern.fullmatch(path):
        return template
    start = path.find("/", 1)
    while start != -1:
        if pattern.fullmatch(path[start:]):
            return path[:start] + template
        start = path.find("/", start + 1)
    return template


class ObserveMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = clean_request_id(_header(scope, b"x-request-id")) or new_request_id()
        token = request_id_var.set(request_id)
        holder: dict[str, Any] = {"route": None}
        scope[ROUTE_KEY] = holder
        state = {"status": 500}
        started = time.perf_counter()
        heap.request_began()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message = dict(message, headers=headers)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, holder, state["status"], time.perf_counter() - started)
            request_id_var.reset(token)
            heap.request_ended()

    @staticmethod
    def _record(scope: Scope, holder: dict[str, Any], status: int, seconds: float) -> None:
        method = scope.get("method", "")
        route = holder["route"] or UNMATCHED
        metrics.HTTP_LATENCY.labels(method, route).observe(seconds)
        metrics.HTTP_RESPONSES.labels(method, route, str(status)).inc()
        client = scope.get("client")
        access_log.info(
            "http.request",
            extra={
                "method": method,
                "path": scope.get("path", ""),
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client": client[0] if client else None,
            },
        )
