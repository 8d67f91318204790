"""The self-media platform's auth (mp.md §1.3): one class, a valid access token of an enabled user.

Token problems are 401 (the front end then drops the login); a disabled account is 403 (it
keeps the login and shows "no permission"). Tokens are the app's: one secret, one user table.
Public endpoints (login, channels) take no auth dependency, so a stale token sent to them is
never read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from toutiao.api.deps import CredentialsDep, RuntimeDep
from toutiao.api.openapi import declare_auth
from toutiao.kit.errors import Forbidden, Unauthorized
from toutiao.user import service as user_service


async def get_author(runtime: RuntimeDep, credentials: CredentialsDep) -> int:
    """The caller's user id. Missing, malformed, expired or refresh token, or a user who no
    longer exists: 401. A disabled account: 403."""
    claims = credentials.claims
    if claims is None or claims.refresh:
        raise Unauthorized("User must be authorized.")
    if await user_service.is_enabled(runtime, claims.user_id):
        return claims.user_id
    if not await user_service.exists(runtime, claims.user_id):
        raise Unauthorized("User must be authorized.")
    raise Forbidden("User denied.")


declare_auth(get_author, required=True, statuses=(401, 403))
Author = Annotated[int, Depends(get_author)]


async def get_writing_author(author: Author, runtime: RuntimeDep) -> int:
    """An author making a write: also counted against the per-author write limit (429)."""
    await runtime.limiter.hit(runtime.settings.MP_WRITE_RATE_PER_USER, "mp:write", str(author))
    return author


declare_auth(get_writing_author, required=True, statuses=(401, 403, 429))
WritingAuthor = Annotated[int, Depends(get_writing_author)]


async def get_refreshing_author(runtime: RuntimeDep, credentials: CredentialsDep) -> int:
    """``PUT /authorizations`` takes only a refresh token; anything else is a 403, as in the
    app (mp.md §6.8). A disabled account is a 403 too."""
    claims = credentials.claims
    if claims is None or not claims.refresh:
        raise Forbidden("Wrong refresh token.")
    if not await user_service.is_enabled(runtime, claims.user_id):
        raise Forbidden("User denied.")
    return claims.user_id


declare_auth(get_refreshing_author, required=True, statuses=(403,))
RefreshingAuthor = Annotated[int, Depends(get_refreshing_author)]

__all__ = ["Author", "RefreshingAuthor", "WritingAuthor"]
