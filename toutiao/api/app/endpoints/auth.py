"""Sign-in: SMS codes, log in / register, token refresh (app.md E09-E11)."""

from __future__ import annotations

from typing import Any

from toutiao.api.app.deps import RefreshUser
from toutiao.api.app.schemas.user import AccessToken, LoginBody, SmsSent, TokenPair
from toutiao.api.deps import ClientIpDep, RuntimeDep, SessionDep
from toutiao.api.openapi import rate_limited
from toutiao.api.responses import Envelope, ok
from toutiao.api.routing import GatedRouter
from toutiao.user import service as user_service
from toutiao.user.tokens import issue_token

router = GatedRouter()


@router.get(
    "/v1_0/sms/codes/{mobile:mobile}",
    name="user.smsverificationcode",
    response_model=Envelope[SmsSent],
    openapi_extra=rate_limited(),
)
async def send_sms_code(mobile: str, client_ip: ClientIpDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Send a 6-digit login code (1 per mobile per minute; 429 beyond)."""
    await user_service.send_sms_code(runtime, mobile, client_ip)
    return ok({"mobile": mobile})


@router.post(
    "/v1_0/authorizations",
    name="user.authorization",
    status_code=201,
    response_model=Envelope[TokenPair],
    openapi_extra=rate_limited(),
)
async def login(
    body: LoginBody, client_ip: ClientIpDep, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Log in with mobile + SMS code; registers the mobile on first use."""
    tokens = await user_service.login(runtime, session, body.mobile, body.code, client_ip)
    return ok(tokens)


@router.put(
    "/v1_0/authorizations",
    name="user.authorization_refresh",
    status_code=201,
    response_model=Envelope[AccessToken],
)
async def refresh_token(user_id: RefreshUser, runtime: RuntimeDep) -> dict[str, Any]:
    """A new access token for the refresh token sent as ``Authorization: Bearer``."""
    return ok({"token": issue_token(runtime.settings, user_id)})
