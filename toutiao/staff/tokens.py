"""Staff JWTs (mis.md §1.6): ``administrator_id``, ``refresh``, ``aud: "mis"``, ``iat``, ``exp``.

``pwv`` carries the account's password version (the epoch second of its last password
change, 0 for never) so every token issued before a change is refused afterwards. The
audience keeps staff tokens off /app and /mp and app tokens off /mis; the app side refuses
any token that names an audience.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from toutiao.config import Settings

ALGORITHM = "HS256"
AUDIENCE = "mis"


@dataclass(frozen=True)
class StaffClaims:
    administrator_id: int
    refresh: bool
    password_version: int


def issue_token(
    settings: Settings,
    administrator_id: int,
    password_version: int,
    *,
    refresh: bool = False,
    now: datetime | None = None,
) -> str:
    now = now or datetime.now(UTC)
    lifetime = (
        timedelta(days=settings.JWT_REFRESH_DAYS)
        if refresh
        else timedelta(hours=settings.JWT_EXPIRY_HOURS)
    )
    payload = {
        "administrator_id": administrator_id,
        "refresh": refresh,
        "pwv": password_version,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(payload, settings.mis_jwt_secret, algorithm=ALGORITHM)


def issue_pair(settings: Settings, administrator_id: int, password_version: int) -> dict[str, str]:
    return {
        "token": issue_token(settings, administrator_id, password_version),
        "refresh_token": issue_token(settings, administrator_id, password_version, refresh=True),
    }


def verify_token(settings: Settings, token: str) -> StaffClaims | None:
    """Claims of a valid staff token, or None (bad signature, expired, other audience...)."""
    try:
        payload = jwt.decode(
            token,
            settings.mis_jwt_secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "aud", "administrator_id"]},
        )
    except jwt.PyJWTError:
        return None
    admin_id = payload.get("administrator_id")
    version = payload.get("pwv", 0)
    if isinstance(admin_id, bool) or not isinstance(admin_id, int) or admin_id <= 0:
        return None
    if isinstance(version, bool) or not isinstance(version, int):
        return None
    return StaffClaims(admin_id, payload.get("refresh") is True, version)
