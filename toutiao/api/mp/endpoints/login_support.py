"""Login support (mp.md §6.8): send an SMS code, refresh the access token."""

from __future__ import annotations

from typing import Any

from toutiao.api.deps import ClientIpDep, RuntimeDep
from toutiao.api.mp.deps import RefreshingAuthor
from toutiao.api.mp.schemas.account import AccessToken, SmsSent
from toutiao.api.openapi import rate_limited
from toutiao.api.responses import Envelope, ok
from toutiao.api.routing import GatedRouter
from toutiao.user import service as user_service
from toutiao.user.tokens import issue_token

router = GatedRouter()


@router.get(
    "/v1_0/sms/codes/{mobile:mobile}",
    name="mp.sms_code",
    response_model=Envelope[SmsSent],
    openapi_extra=rate_limited(),
)
async def send_sms_code(mobile: str, client_ip: ClientIpDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Send a 6-digit login code, as the app does (1 per mobile per minute; 429 beyond)."""
    await user_service.send_sms_code(runtime, mobile, client_ip)
    return ok({"mobile": mobile})


@router.put(
    "/v1_0/authorizations",
    name="mp.authorization_refresh",
    status_code=201,
    response_model=Envelope[AccessToken],
)
async def refresh_token(author: RefreshingAuthor, runtime: RuntimeDep) -> dict[str, Any]:
    """A new access token for the refresh token sent as ``Authorization: Bearer``."""
    return ok({"token": issue_token(runtime.settings, author)})
