"""JWT access and refresh tokens (HS256).

The access token carries ``user_id`` (the reference client decodes it); the refresh token
carries ``refresh: true`` as well, so neither can stand in for the other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cachetools import TTLCache

from toutiao.config import Settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    refresh: bool


# Tokens verified lately, with their claims and expiry: a reader sends the same token with
# every request, and a request checks it twice (the activity middleware, then the route).
# Only valid tokens are kept (junk cannot fill it); the key holds the secret, so a token
# signed under another secret is verified afresh.
VERIFIED_SIZE = 8192
VERIFIED_SECONDS = 60.0
_verified: TTLCache[tuple[str, str], tuple[TokenClaims, float]] = TTLCache(
    VERIFIED_SIZE, VERIFIED_SECONDS
)


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
    key = (settings.JWT_SECRET, token)
    known = _verified.get(key)
    if known is not None and time.time() < known[1]:
        return known[0]
    claims = _decode(settings, token)
    if claims is not None:
        _verified[key] = claims
        return claims[0]
    return None


def _decode(settings: Settings, token: str) -> tuple[TokenClaims, float] | None:
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
    return TokenClaims(user_id=user_id, refresh=payload.get("refresh") is True), float(
        payload["exp"]
    )
