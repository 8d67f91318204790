"""The user domain's Redis keys and read-through helpers (reference-facts §3.2, §3.3)."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from cachetools import TTLCache
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import broadcast, metrics
from toutiao.kit.cache import (
    ABSENT,
    INVALIDATED,
    TTL,
    cached_json,
    dumps,
    invalidate,
)
from toutiao.models import User, UserProfile
from toutiao.models.enums import UserStatus
from toutiao.user.names import public_name

PROFILE_TTL = TTL(1800, 600)
PROFILEX_TTL = TTL(600, 120)
STATUS_TTL = TTL(3600, 600)
ABSENT_TTL = TTL(300, 60)

# Status is checked on every authenticated request: keep it in-process for a few seconds.
# A status change drops it in every process at once (kit/broadcast.py, topic "user-status").
_status_l1: TTLCache[int, bool] = TTLCache(maxsize=100_000, ttl=5)
STATUS_TOPIC = "user-status"


def _drop_status(key: str) -> None:
    for part in key.split(","):
        if part.isdigit():
            _status_l1.pop(int(part), None)


broadcast.register(STATUS_TOPIC, drop=_drop_status, reset=_status_l1.clear)


def profile_key(user_id: int) -> str:
    return f"user:{user_id}:profile"


def profilex_key(user_id: int) -> str:
    return f"user:{user_id}:profilex"


def status_key(user_id: int) -> str:
    return f"user:{user_id}:status"


def sms_code_key(mobile: str) -> str:
    return f"app:code:{mobile}"


def profile_dict(user: User) -> dict[str, Any]:
    return {
        "mobile": user.mobile,
        "name": public_name(user.user_id, user.user_name, user.mobile),
        "photo": user.profile_photo or "",
        "is_media": int(bool(user.is_media)),
        "intro": user.introduction or "",
        "certi": user.certificate or "",
    }


async def get_profile(cache: Any, session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    """``{mobile, name, photo (storage key), is_media, intro, certi}`` or None if no such user."""

    async def load() -> dict[str, Any] | None:
        user = await session.get(User, user_id)
        return profile_dict(user) if user is not None else None

    return await cached_json(
        cache, profile_key(user_id), load, ttl=PROFILE_TTL, absent_ttl=ABSENT_TTL
    )  # type: ignore[no-any-return]


async def get_profiles(
    cache: Any, session: AsyncSession, user_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """Profiles of several users: one MGET, one SQL query for the misses, one pipelined fill."""
    if not user_ids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    missing: list[int] = []
    try:
        raws = await cache.mget([profile_key(u) for u in user_ids])
    except RedisError:
        raws = [None] * len(user_ids)
    for user_id, raw in zip(user_ids, raws, strict=True):
        if raw is None or raw == INVALIDATED:
            missing.append(user_id)
        elif raw != ABSENT:
            found[user_id] = orjson.loads(raw)
    if missing:
        rows = (await session.scalars(select(User).where(User.user_id.in_(missing)))).all()
        loaded = {row.user_id: profile_dict(row) for row in rows}
        found.update(loaded)
        try:
            async with cache.pipeline(transaction=False) as pipe:
                for user_id in missing:
                    if user_id in loaded:
                        pipe.set(
                            profile_key(user_id),
                            dumps(loaded[user_id]),
                            ex=PROFILE_TTL.draw(),
                            nx=True,
                        )
                    else:
                        pipe.set(profile_key(user_id), ABSENT, ex=ABSENT_TTL.draw(), nx=True)
                await pipe.execute()
        except RedisError:
            pass
    return found


async def get_profilex(cache: Any, session: AsyncSession, user_id: int) -> dict[str, Any]:
    """``{gender, birthday 'YYYY-MM-DD' or None}``; a user without a profile row gets defaults."""

    async def load() -> dict[str, Any]:
        row = await session.get(UserProfile, user_id)
        birthday: date | None = row.birthday if row else None
        return {
            "gender": int(row.gender) if row and row.gender is not None else 0,
            "birthday": birthday.isoformat() if birthday else None,
        }

    return await cached_json(
        cache, profilex_key(user_id), load, ttl=PROFILEX_TTL, absent_ttl=ABSENT_TTL
    )  # type: ignore[no-any-return]


async def is_enabled(cache: Any, session_factory: Any, user_id: int) -> bool:
    """Whether the user exists and is enabled (fixes §14.1: compare the value, not truthiness)."""
    hit = _status_l1.get(user_id)
    if hit is not None:
        metrics.cache_lookup("user:status", "l1", hits=1)
        return hit
    metrics.cache_lookup("user:status", "l1", misses=1)
    enabled = await status_of(cache, session_factory, user_id) == int(UserStatus.ENABLED)
    _status_l1[user_id] = enabled
    return enabled


async def status_of(cache: Any, session_factory: Any, user_id: int) -> int | None:
    """The user's ``status`` column, None when there is no such user (Redis, then SQL)."""

    async def load() -> int | None:
        async with session_factory() as session:
            status = await session.scalar(select(User.status).where(User.user_id == user_id))
        return None if status is None else int(status)

    value = await cached_json(
        cache, status_key(user_id), load, ttl=STATUS_TTL, absent_ttl=ABSENT_TTL
    )
    return None if value is None else int(value)


async def set_status(cache: Any, user_id: int, enabled: bool) -> None:
    _status_l1[user_id] = enabled
    try:  # an authoritative value from the writer, so a plain SET (not NX)
        await cache.set(status_key(user_id), "1" if enabled else "0", ex=STATUS_TTL.draw())
    except RedisError:
        await invalidate(cache, status_key(user_id))


def forget_status(user_id: int) -> None:
    _status_l1.pop(user_id, None)


# A status write holds this tombstone from before its commit until it sets the new value,
# so no reader can cache the old status in between; if the final SET is lost the tombstone
# just runs out and readers go to the database.
STATUS_WRITE_TOMBSTONE = 60


async def hold_statuses(cache: Any, user_ids: list[int]) -> None:
    """Before the commit of a status change; a Redis failure here fails the change."""
    async with cache.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.set(status_key(user_id), INVALIDATED, ex=STATUS_WRITE_TOMBSTONE)
        await pipe.execute()


async def publish_statuses(cache: Any, user_ids: list[int], enabled: bool) -> None:
    """After the commit: the authoritative value in Redis, then every process drops its L1."""
    for user_id in user_ids:
        _status_l1[user_id] = enabled
    async with cache.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.set(status_key(user_id), "1" if enabled else "0", ex=STATUS_TTL.draw())
        await pipe.execute()
