"""Counts ``/app`` traffic for the site statistics (mis.md §5.1), after each response.

Runs after the endpoint, so it adds nothing to the response time but a few dictionary
updates (:mod:`toutiao.stats.activity` buffers them). It reads the caller from the
credentials the endpoint already parsed, and parses the header itself only for endpoints
that never look at it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toutiao.api.deps import CREDENTIALS_SCOPE_KEY, Credentials
from toutiao.stats import activity
from toutiao.user.tokens import verify_token

log = logging.getLogger("toutiao.api.activity")

SEARCH_ROUTE = "news.search"
DETAIL_ROUTE = "news.article"


class ActivityMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Any, prefix: str = "/app/") -> None:
        self.app = app
        self.settings = settings
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            try:
                self._count(scope, status)
            except Exception:  # statistics never break a request
                log.exception("stats.count_request_failed")

    def _count(self, scope: Scope, status: int) -> None:
        user_id, device = self._caller(scope)
        client = scope.get("client")
        ip = client[0] if client else None
        viewer = str(user_id) if user_id else (f"anon:{device}" if device else None)
        found = activity.buffer()
        found.request(viewer=viewer, ip=ip)
        route = getattr(scope.get("route"), "name", None)
        if route == DETAIL_ROUTE and status == 200:
            found.read()
        elif route == SEARCH_ROUTE and status == 200:
            query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
            if query.get("page", ["1"])[0].strip() in ("", "1"):
                searcher = viewer or (f"ip:{ip}" if ip else "")
                found.search(query.get("q", [""])[0], searcher)

    def _caller(self, scope: Scope) -> tuple[int | None, str | None]:
        credentials = scope.get(CREDENTIALS_SCOPE_KEY)
        if not isinstance(credentials, Credentials):
            credentials = self._parse(scope)
        claims = credentials.claims
        user_id = claims.user_id if claims is not None and not claims.refresh else None
        return user_id, credentials.anonymous_id

    def _parse(self, scope: Scope) -> Credentials:
        header = ""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1").strip()
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return Credentials(token_sent=True, claims=verify_token(self.settings, value))
        if scheme.lower() == "anony" and value:
            return Credentials(anonymous_id=value[:64])
        return Credentials()
