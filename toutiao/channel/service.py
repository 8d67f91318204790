"""Channels and each user's channel list (app.md E24-E31, reference-facts §5.9)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachetools import TTLCache
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import broadcast, metrics
from toutiao.kit.cache import TTL, cached_json, invalidate
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Conflict
from toutiao.kit.writes import lock_user
from toutiao.models import Channel, UserChannel

RECOMMENDED = {"id": 0, "name": "推荐"}
ALL_KEY = "ch:all"
DEFAULT_KEY = "ch:user:default"
GLOBAL_TTL = TTL(86400, 0)
USER_TTL = TTL(3600, 600)
ABSENT_TTL = TTL(300, 60)

# Channel lists change only through operations staff; a 30 s in-process copy (L1) spares Redis.
# A staff change drops it in every process at once (kit/broadcast.py, topic "channels").
_l1: TTLCache[str, list[dict[str, Any]]] = TTLCache(maxsize=8, ttl=30)
BROADCAST_TOPIC = "channels"
broadcast.register(BROADCAST_TOPIC, drop=lambda _key: _l1.clear(), reset=_l1.clear)


def user_key(user_id: int) -> str:
    return f"user:{user_id}:ch"


async def _global_list(
    cache: Any, session: AsyncSession, key: str, *, defaults_only: bool
) -> list[dict[str, Any]]:
    hit = _l1.get(key)
    if hit is not None:
        metrics.cache_lookup("channel:list", "l1", hits=1)
        return hit
    metrics.cache_lookup("channel:list", "l1", misses=1)

    async def load() -> list[dict[str, Any]]:
        query = select(Channel.channel_id, Channel.channel_name).where(Channel.is_visible.is_(True))
        if defaults_only:
            query = query.where(Channel.is_default.is_(True))
        rows = await session.execute(query.order_by(Channel.sequence, Channel.channel_id))
        return [{"id": row.channel_id, "name": row.channel_name} for row in rows]

    channels = await cached_json(cache, key, load, ttl=GLOBAL_TTL, absent_ttl=ABSENT_TTL) or []
    _l1[key] = channels
    return channels


async def all_channels(cache: Any, session: AsyncSession) -> list[dict[str, Any]]:
    """Visible channels ordered by the configured sequence, then id."""
    return await _global_list(cache, session, ALL_KEY, defaults_only=False)


_ids_of: list[tuple[list[dict[str, Any]], frozenset[int]]] = []  # the last list read, its ids


async def all_channel_ids(cache: Any, session: AsyncSession) -> frozenset[int]:
    """The ids of :func:`all_channels`: the set built once per list read, not per request."""
    channels = await all_channels(cache, session)
    if not _ids_of or _ids_of[0][0] is not channels:  # the list is held: its identity is kept
        _ids_of[:] = [(channels, frozenset(ch["id"] for ch in channels))]
    return _ids_of[0][1]


async def default_channels(cache: Any, session: AsyncSession) -> list[dict[str, Any]]:
    return await _global_list(cache, session, DEFAULT_KEY, defaults_only=True)


async def forget_global_lists(cache: Any) -> None:
    """Call after staff change channels."""
    _l1.clear()
    await invalidate(cache, ALL_KEY, DEFAULT_KEY)


async def user_channels(
    cache: Any, session: AsyncSession, user_id: int | None
) -> list[dict[str, Any]]:
    """推荐 (id 0) first, then the user's channels by seq; the defaults when none are saved."""
    saved: list[dict[str, Any]] = []
    if user_id is not None:

        async def load() -> list[dict[str, Any]]:
            rows = await session.execute(
                select(Channel.channel_id, Channel.channel_name)
                .join(UserChannel, UserChannel.channel_id == Channel.channel_id)
                .where(
                    UserChannel.user_id == user_id,
                    UserChannel.is_deleted.is_(False),
                    Channel.is_visible.is_(True),
                )
                .order_by(UserChannel.sequence, UserChannel.channel_id)
            )
            return [{"id": row.channel_id, "name": row.channel_name} for row in rows]

        saved = (
            await cached_json(cache, user_key(user_id), load, ttl=USER_TTL, absent_ttl=ABSENT_TTL)
            or []
        )
    return [RECOMMENDED, *(saved or await default_channels(cache, session))]


# -- writes -------------------------------------------------------------------------------


async def validate_ids(cache: Any, session: AsyncSession, ids: Sequence[int]) -> None:
    if not ids:
        raise BadRequest("channels: must be a non-empty list")
    if len(set(ids)) != len(ids):
        raise BadRequest("channels: repeated channels occurred")
    known = {channel["id"] for channel in await all_channels(cache, session)}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise BadRequest(f"channels: invalid channel id {unknown[0]}")


async def _rows(session: AsyncSession, user_id: int, ids: Sequence[int]) -> dict[int, UserChannel]:
    rows = await session.scalars(
        select(UserChannel)
        .where(UserChannel.user_id == user_id, UserChannel.channel_id.in_(ids))
        .with_for_update()
    )
    return {row.channel_id: row for row in rows}


def _after_write(cache: Any, session: AsyncSession, user_id: int) -> None:
    on_commit(session, lambda: invalidate(cache, user_key(user_id)))


async def add(
    cache: Any, session: AsyncSession, user_id: int, items: Sequence[tuple[int, int]]
) -> None:
    """POST: insert only; if the user already has any of them, nothing is saved (409)."""
    await validate_ids(cache, session, [i for i, _ in items])
    await lock_user(session, user_id)
    existing = await _rows(session, user_id, [i for i, _ in items])
    if any(not row.is_deleted for row in existing.values()):
        raise Conflict("Some conflict user channels occurred.")
    await _upsert(session, user_id, items, existing)
    _after_write(cache, session, user_id)


async def upsert(
    cache: Any,
    session: AsyncSession,
    user_id: int,
    items: Sequence[tuple[int, int]],
    *,
    replace: bool,
) -> None:
    """PATCH (replace=False) adds or re-orders; PUT (replace=True) makes the list exactly ``items``."""
    await validate_ids(cache, session, [i for i, _ in items])
    await lock_user(session, user_id)
    if replace:
        await session.execute(
            update(UserChannel)
            .where(UserChannel.user_id == user_id, UserChannel.is_deleted.is_(False))
            .values(is_deleted=True)
            .execution_options(synchronize_session=False)
        )
    existing = await _rows(session, user_id, [i for i, _ in items])
    await _upsert(session, user_id, items, existing)
    _after_write(cache, session, user_id)


async def _upsert(
    session: AsyncSession,
    user_id: int,
    items: Sequence[tuple[int, int]],
    existing: dict[int, UserChannel],
) -> None:
    try:
        async with session.begin_nested():
            for channel_id, seq in items:
                row = existing.get(channel_id)
                if row is None:
                    session.add(
                        UserChannel(
                            user_id=user_id, channel_id=channel_id, sequence=seq, is_deleted=False
                        )
                    )
                else:
                    row.sequence = seq
                    row.is_deleted = False
    except IntegrityError as exc:  # a parallel request inserted the same pair first
        raise Conflict("Channels changed concurrently, please retry.") from exc


async def remove(cache: Any, session: AsyncSession, user_id: int, ids: Sequence[int]) -> None:
    """Soft-delete the listed channels; ids the user does not have are ignored."""
    await lock_user(session, user_id)
    await session.execute(
        update(UserChannel)
        .where(UserChannel.user_id == user_id, UserChannel.channel_id.in_(ids))
        .values(is_deleted=True)
        .execution_options(synchronize_session=False)
    )
    _after_write(cache, session, user_id)
