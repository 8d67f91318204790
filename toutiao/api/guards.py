"""ASGI guards in front of every surface, before any routing, parsing or reading of a body.

- ``BodyGuard``: each route has a body budget (``api/limits.py``); a larger body is refused
  with 413 before it is read, whether it announces its length or streams it. JSON bodies are
  checked for text that cannot be stored (invalid UTF-8, lone surrogates) and the query
  string for parameters without a name: both are 400. Bodies are parsed as JSON whatever
  Content-Type the client sent (app.md §5.41); multipart is left alone.
- ``LoadShedder``: at most ``max_inflight`` requests run, at most ``max_queue`` wait up to
  ``queue_timeout`` seconds for a slot; the rest get 503 with ``Retry-After`` at once.
- ``MethodGuard``: a plain ``OPTIONS`` (not a CORS preflight) answers 204 with the path's
  real ``Allow`` header.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toutiao.api.limits import BodyLimits, allowed_methods, freeze_routes
from toutiao.api.responses import OrjsonResponse
from toutiao.config import Settings

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class Refused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


async def _answer(scope: Scope, send: Send, refused: Refused) -> None:
    response = OrjsonResponse(
        {"message": refused.message}, status_code=refused.status, headers=refused.headers
    )
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def check_text(raw: bytes) -> None:
    """Refuse bytes that are not UTF-8, or JSON whose strings hold a lone surrogate escape."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "Text must be valid UTF-8.") from None
    if _SURROGATE_ESCAPE.search(raw) is None:
        return
    try:
        parsed = json.loads(raw)
    except ValueError:
        return  # not JSON: the route's own parsing says what is wrong
    if _has_lone_surrogate(parsed):
        raise Refused(400, "Text contains an invalid character (a lone surrogate).")


def check_query(scope: Scope) -> None:
    query: bytes = scope.get("query_string", b"")
    if b"=" in query and (query.startswith(b"=") or b"&=" in query):
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        if any(not name for name, _ in pairs):
            raise Refused(400, "Query parameter without a name.")
    for part in (query, scope.get("raw_path", b"")):
        if b"%" in part:
            try:
                unquote_to_bytes(part).decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(400, "Text must be valid UTF-8.") from None


class BodyGuard:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits
        self.frozen = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.frozen:  # routes are all declared by the first request
            freeze_routes(scope.get("app"))
            self.frozen = True
        streamed: _Overflow | None = None
        try:
            check_query(scope)
            if scope["method"] in _BODY_METHODS:
                scope, receive, streamed = await self._read(scope, receive, send)
        except Refused as refused:
            await _answer(scope, send, refused)
            return
        if streamed is None:
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, streamed.receive, streamed.send)
        except Exception:
            if not streamed.over:
                raise
        if streamed.over and not streamed.started:
            await _answer(scope, send, _too_large(streamed.limit))

    async def _read(
        self, scope: Scope, receive: Receive, send: Send
    ) -> tuple[Scope, Receive, _Overflow | None]:
        limit = self.limits.for_scope(scope)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        content_type = headers.get(b"content-type", b"")
        if content_type.startswith(b"multipart/"):
            return scope, receive, _Overflow(receive, send, limit)
        if b"json" not in content_type:
            rest = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = dict(scope, headers=[*rest, (b"content-type", b"application/json")])
        body = await _read_body(receive, limit)
        check_text(body)
        return scope, _replay(body, receive), None


def _too_large(limit: int) -> Refused:
    return Refused(413, f"Request body too large (at most {limit} bytes).")


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Refused(400, "Request body incomplete.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class _Overflow:
    """Counts a streamed (multipart) body; past the limit the app sees a disconnect and its
    answer is replaced by a 413."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self.limit = receive, send, limit
        self.size, self.over, self.started = 0, False, False

    async def receive(self) -> Message:
        if self.over:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit:
                self.over = True
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.over and not self.started:
            return
        self.started = True
        await self._send(message)


class LoadShedder:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_inflight: int,
        max_queue: int,
        queue_timeout: float,
        exempt: tuple[str, ...] = ("/healthz", "/readyz", "/metrics"),
    ) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(max_inflight) if max_inflight > 0 else None
        self.max_queue = max_queue
        self.queue_timeout = queue_timeout
        self.waiting = 0
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.slots is None or scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if not await self._acquire():
            retry = str(max(1, round(self.queue_timeout)))
            refused = Refused(503, "Server busy, please retry.", {"Retry-After": retry})
            await _answer(scope, send, refused)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()

    async def _acquire(self) -> bool:
        assert self.slots is not None
        if not self.slots.locked():
            await self.slots.acquire()
            return True
        if self.waiting >= self.max_queue:
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), timeout=self.queue_timeout)
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        return True


class MethodGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        methods = allowed_methods(scope)
        if not methods:
            await self.app(scope, receive, send)  # unknown path: the router's 404
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        await send(
            {"type": "http.response.start", "status": 204, "headers": [(b"allow", allow.encode())]}
        )
        await send({"type": "http.response.body", "body": b""})


def install_guards(app: Any, settings: Settings) -> None:
    """Outermost first: shed load, answer OPTIONS, then check the body (CORS sits outside)."""
    app.add_middleware(BodyGuard, limits=BodyLimits(settings))
    app.add_middleware(MethodGuard)
    app.add_middleware(
        LoadShedder,
        max_inflight=settings.HTTP_MAX_INFLIGHT,
        max_queue=settings.HTTP_MAX_QUEUE,
        queue_timeout=settings.HTTP_QUEUE_TIMEOUT,
    )
