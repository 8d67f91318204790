"""JWT access and refresh tokens (HS256).

The access token carries ``user_id`` (the reference client decodes it); the refresh token
carries ``refresh: true`` as well, so neither can stand in for the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from toutiao.config import Settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    refresh: bool


def issue_token(
    settings: Settings, user_id: int, *, refresh: bool = False, now: datetime | None = None
) -> str:
    now = now or datetime.now(UTC)
    lifetime = (
        timedelta(days=settings.JWT_REFRESH_DAYS)
        if refresh
        else timedelta(hours=settings.JWT_EXPIRY_HOURS)
    )
    payload = {"user_id": user_id, "refresh": refresh, "iat": now, "exp": now + lifetime}
    return jwt.encode(payload, settings.JWT_SECRET, algorithm=ALGORITHM)


def verify_token(settings: Settings, token: str) -> TokenClaims | None:
    """Claims of a valid token, or None for any failure (bad signature, expired, malformed)."""
    try:
        payload = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "user_id"]},
        )
    except jwt.PyJWTError:
        return None
    if "aud" in payload:  # staff (/mis) tokens name an audience; app tokens never do
        return None
    user_id = payload.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
        return None
    return TokenClaims(user_id=user_id, refresh=payload.get("refresh") is True)
