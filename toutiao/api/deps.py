"""Dependencies every HTTP surface uses: the runtime, database sessions and the caller."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from toutiao.kit.clientip import client_ip
from toutiao.kit.db import AsyncReadSession, commit, discard_after_commit
from toutiao.runtime import Runtime
from toutiao.user.tokens import TokenClaims, verify_token

log = logging.getLogger("toutiao.api")


# Dependencies are ``async def`` even when they never await: FastAPI runs a plain ``def``
# dependency in a worker thread, a thread hop per request that cost more than the feed's own work.
# The ones below take the request, not ``RuntimeDep``: FastAPI solves a nested dependency
# again for every dependency that names it (its value is cached, its solving is not), and
# on a warm page that solving was a tenth of the CPU.
def runtime_of(request: Request) -> Runtime:
    return request.state.runtime  # type: ignore[no-any-return]


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A primary session per request: committed before the response is sent, else rolled back."""
    async with runtime_of(request).db.session() as session:
        try:
            yield session
        except BaseException:
            discard_after_commit(session)
            await session.rollback()
            raise
        else:
            await commit(session)


# The read sessions a request opened, closed by ``ReadSessionCloser`` (a list it puts in the
# scope: inner middlewares may pass a copy of the scope, and copies share the list).
READ_SESSIONS_SCOPE_KEY = "toutiao.read_sessions"


async def get_db_read_session(request: Request) -> AsyncReadSession:
    """A read session per request, closed once the response is out (by
    :class:`ReadSessionCloser`, not by a generator dependency: FastAPI's machinery for one
    was 5 % of a warm page's CPU, and a warm page never uses its session)."""
    sessions: list[AsyncReadSession] = request.scope[READ_SESSIONS_SCOPE_KEY]
    session = runtime_of(request).db.read_session()
    sessions.append(session)
    return session


class ReadSessionCloser:
    """Closes the read sessions of a request after it is answered, whatever happened (an
    unused one costs nothing to close: ``LeanSession``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sessions: list[AsyncReadSession] = []
        scope[READ_SESSIONS_SCOPE_KEY] = sessions
        try:
            await self.app(scope, receive, send)
        finally:
            for session in sessions:
                try:
                    await session.close()
                except Exception:  # the answer is out; a dead connection is the pool's to drop
                    log.warning("db.read_session_close_failed", exc_info=True)


async def get_db_primary_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with runtime_of(request).db.primary_read_session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
# Reads whose result refills a cache right after a write: see Database.primary_read_session.
PrimaryReadSessionDep = Annotated[
    AsyncSession, Depends(get_db_primary_read_session, scope="function")
]
ReadSessionDep = Annotated[AsyncReadSession, Depends(get_db_read_session)]


async def get_client_ip(request: Request) -> str:
    """The caller's address for rate limits and the audit log (kit/clientip.py)."""
    peer = request.client.host if request.client else None
    proxies = request.state.runtime.settings.trusted_proxies
    return client_ip(peer, request.headers.get("x-forwarded-for"), proxies)


ClientIpDep = Annotated[str, Depends(get_client_ip)]


def cache_client(runtime: Runtime) -> Any:
    return runtime.cache


@dataclass(frozen=True)
class Credentials:
    """What the ``Authorization`` header said (``Bearer <jwt>`` or ``Anony <device id>``)."""

    token_sent: bool = False
    claims: TokenClaims | None = None
    anonymous_id: str | None = None


# Where the parsed credentials are left in the ASGI scope (never in the lifespan-shared state).
CREDENTIALS_SCOPE_KEY = "toutiao.credentials"


async def read_credentials(request: Request) -> Credentials:
    """Parsed once per request (FastAPI caches a dependency's value within one request)."""
    header = request.headers.get("authorization", "").strip()
    scheme, _, value = header.partition(" ")
    value = value.strip()
    credentials = Credentials()
    if scheme.lower() == "bearer":
        claims = verify_token(request.state.runtime.settings, value) if value else None
        credentials = Credentials(token_sent=True, claims=claims)
    elif scheme.lower() == "anony" and value:
        credentials = Credentials(anonymous_id=value[:64])
    request.scope[CREDENTIALS_SCOPE_KEY] = credentials  # read again by the activity counter
    return credentials


CredentialsDep = Annotated[Credentials, Depends(read_credentials)]
