"""The mobile app's auth classes (app.md §1.6): required, optional and refresh."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from toutiao.api.deps import (
    Credentials,
    CredentialsDep,
    get_db_read_session,
    read_credentials,
    runtime_of,
)
from toutiao.api.openapi import declare_auth
from toutiao.kit.db import AsyncReadSession
from toutiao.kit.errors import Forbidden, Unauthorized
from toutiao.user import service as user_service


async def _ensure_enabled(request: Request, user_id: int) -> int:
    if not await user_service.is_enabled(runtime_of(request), user_id):
        raise Forbidden("User denied.")
    return user_id


async def get_current_user(request: Request, credentials: CredentialsDep) -> int:
    """A valid access token is required; a refresh token in its place is a 401."""
    claims = credentials.claims
    if claims is None or claims.refresh:
        raise Unauthorized("User must be authorized.")
    return await _ensure_enabled(request, claims.user_id)


async def get_optional_user(request: Request, credentials: CredentialsDep) -> int | None:
    """Anonymous is fine, but a Bearer token that was sent must be valid (so clients refresh)."""
    if not credentials.token_sent:
        return None
    claims = credentials.claims
    if claims is None or claims.refresh:
        raise Unauthorized("Token has some errors.")
    return await _ensure_enabled(request, claims.user_id)


async def read_session_and_user(request: Request) -> tuple[AsyncReadSession, int | None]:
    """The read session and optional caller of a route that takes the request and reads its
    parameters itself (``toutiao.api.query``), in the order FastAPI solved them: a bad
    token is a 401 before a bad parameter is a 400."""
    session = await get_db_read_session(request)
    return session, await get_optional_user(request, await read_credentials(request))


@dataclass(frozen=True)
class Viewer:
    """Who reads a feed: a signed-in user, or the device an ``Anony`` header names."""

    user_id: int | None
    anonymous_id: str | None


async def get_optional_viewer(request: Request, credentials: CredentialsDep) -> Viewer:
    """:func:`get_optional_user` with the anonymous device id kept (one dependency for the
    feeds: FastAPI's cost is per declared dependency)."""
    return Viewer(await get_optional_user(request, credentials), credentials.anonymous_id)


async def get_refresh_user(request: Request, credentials: CredentialsDep) -> int:
    """``PUT /authorizations`` takes only a refresh token; anything else is a 403."""
    claims = credentials.claims
    if claims is None or not claims.refresh:
        raise Forbidden("Wrong refresh token.")
    return await _ensure_enabled(request, claims.user_id)


declare_auth(get_current_user, required=True, statuses=(401, 403))
declare_auth(get_optional_user, required=False, statuses=(401, 403))
declare_auth(get_refresh_user, required=True, statuses=(403,))
declare_auth(get_optional_viewer, required=False, statuses=(401, 403))

CurrentUser = Annotated[int, Depends(get_current_user)]
OptionalUser = Annotated[int | None, Depends(get_optional_user)]
OptionalViewer = Annotated[Viewer, Depends(get_optional_viewer)]
RefreshUser = Annotated[int, Depends(get_refresh_user)]

__all__ = ["Credentials", "CurrentUser", "OptionalUser", "OptionalViewer", "RefreshUser", "Viewer"]
