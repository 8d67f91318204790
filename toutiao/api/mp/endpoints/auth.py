"""Sign-in to the self-media platform (mp.md §3.1)."""

from __future__ import annotations

from typing import Any

from toutiao.api.deps import ClientIpDep, RuntimeDep, SessionDep
from toutiao.api.mp.schemas.auth import MpLoginBody, MpTokens
from toutiao.api.openapi import rate_limited
from toutiao.api.responses import Envelope, ok
from toutiao.api.routing import GatedRouter
from toutiao.user import service as user_service

router = GatedRouter()


@router.post(
    "/v1_0/authorizations",
    name="mp.authorization",
    status_code=201,
    response_model=Envelope[MpTokens],
    openapi_extra=rate_limited(),
)
async def login(
    body: MpLoginBody, client_ip: ClientIpDep, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Log in with mobile + SMS code; registers the mobile and marks it an author."""
    tokens = await user_service.login(
        runtime, session, body.mobile, body.code, client_ip, media=True
    )
    return ok(tokens)
