"""Channels and pinned articles as staff manage them (mis M31-M36).

After any change, the app's and mp's channel lists follow on the next request: the global
lists (``ch:all``, ``ch:user:default``) are dropped after the commit, with the in-process
copies of every process (the ``channels`` broadcast topic), and so are the cached lists of
users subscribed to a deleted channel. Users' own lists are
filtered against visible channels when they are loaded, so hiding a channel needs no per-user
work beyond that.

Pinned articles live in the storage Redis as ``ch:{id}:art:top`` (highest score first), read
by the feed on every request; channel 0 is the app's virtual "recommended" channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.channel import service as app_lists
from toutiao.channel.repository import ChannelFilter, ChannelRepository, PinnedRow
from toutiao.kit.cache import invalidate
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Conflict, NotFound, Unavailable
from toutiao.models import Channel
from toutiao.models.base import local_now
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime

NAME_MAX = 32
MAX_PINNED = 10
RECOMMENDED = 0


class ChannelNotFound(NotFound):
    message = "Channel not found."


@dataclass(frozen=True)
class ChannelChanges:
    """The fields of an edit; None = not sent."""

    name: str | None = None
    is_visible: bool | None = None
    sequence: int | None = None
    is_default: bool | None = None

    def sent(self) -> list[str]:
        return [k for k, v in vars(self).items() if v is not None]


def channel_json(row: Channel) -> dict[str, Any]:
    return {
        "channel_id": row.channel_id,
        "name": row.channel_name,
        "is_visible": int(row.is_visible),
        "sequence": row.sequence,
        "is_default": int(row.is_default),
    }


def clean_name(name: str) -> str:
    text = name.strip()
    if not 1 <= len(text) <= NAME_MAX:
        raise BadRequest(f"name: 1-{NAME_MAX} characters")
    return text


def _after_commit(runtime: Runtime, session: AsyncSession, *user_ids: int) -> None:
    """Redis copies and this process's L1, then every other process's L1."""

    async def forget() -> None:
        await app_lists.forget_global_lists(runtime.cache)
        await invalidate(runtime.cache, *(app_lists.user_key(u) for u in user_ids))
        if runtime.broadcast is not None:
            await runtime.broadcast.publish(app_lists.BROADCAST_TOPIC, "all")

    on_commit(session, forget)


async def list_channels(
    session: AsyncSession, where: ChannelFilter, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    repo = ChannelRepository.from_session(session)
    rows, total = await repo.page(where, offset=offset, limit=limit)
    counts = await repo.article_counts([r.channel_id for r in rows])
    items = [{**channel_json(r), "article_count": counts.get(r.channel_id, 0)} for r in rows]
    return items, total


async def _unique(repo: ChannelRepository, name: str, other_than: int | None = None) -> None:
    if await repo.name_taken(name, other_than=other_than):
        raise Conflict(f"Channel name {name!r} is already taken.")


async def create(
    runtime: Runtime,
    session: AsyncSession,
    *,
    name: str,
    is_visible: bool,
    sequence: int = 0,
    is_default: bool = False,
) -> Channel:
    repo = ChannelRepository.from_session(session)
    await _unique(repo, name)
    now = local_now()
    row = Channel(
        channel_name=name,
        is_visible=is_visible,
        sequence=sequence,
        is_default=is_default,
        create_time=now,
        update_time=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # the same name created in parallel
        raise Conflict(f"Channel name {name!r} is already taken.") from exc
    _after_commit(runtime, session)
    return row


async def edit(
    runtime: Runtime, session: AsyncSession, channel_id: int, changes: ChannelChanges
) -> Channel:
    repo = ChannelRepository.from_session(session)
    row = await repo.get(channel_id)
    if row is None:
        raise ChannelNotFound()
    if changes.name is not None and changes.name != row.channel_name:
        await _unique(repo, changes.name, other_than=channel_id)
        row.channel_name = changes.name
    if changes.is_visible is not None:
        row.is_visible = changes.is_visible
    if changes.sequence is not None:
        row.sequence = changes.sequence
    if changes.is_default is not None:
        row.is_default = changes.is_default
    row.update_time = local_now()
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"Channel name {changes.name!r} is already taken.") from exc
    _after_commit(runtime, session)
    return row


async def remove(runtime: Runtime, session: AsyncSession, channel_id: int) -> bool:
    """Delete a channel that no article belongs to (409 otherwise), with its subscriptions
    and its pinned list; True when a row went."""
    repo = ChannelRepository.from_session(session)
    if await repo.has_articles(channel_id):
        raise Conflict(f"Channel {channel_id} still has articles.")
    subscribers = await repo.subscribers(channel_id)
    if not await repo.delete(channel_id):
        return False
    _after_commit(runtime, session, *subscribers)

    async def unpin() -> None:
        await runtime.store.delete(pinned_key(channel_id))

    on_commit(session, unpin)
    return True


def pinned_key(channel_id: int) -> str:
    return f"ch:{channel_id}:art:top"


# -- pinned articles ---------------------------------------------------------------------------


def _pinned_json(row: PinnedRow) -> dict[str, Any]:
    return {
        "article_id": row.article_id,
        "title": row.title,
        "status": int(row.status),
        "user_id": row.user_id,
        "author_name": row.author_name,
        "channel_id": row.channel_id,
        "channel_name": row.channel_name,
    }


async def _check_channel(session: AsyncSession, channel_id: int) -> None:
    if (
        channel_id != RECOMMENDED
        and await ChannelRepository.from_session(session).get(channel_id) is None
    ):
        raise ChannelNotFound()


async def pinned(store: Any, session: AsyncSession, channel_id: int) -> dict[str, Any]:
    """M35: the pinned list in display order; articles no longer approved leave it."""
    await _check_channel(session, channel_id)
    key = pinned_key(channel_id)
    ids = [int(m) for m in await store.zrevrange(key, 0, -1)]
    rows = await ChannelRepository.from_session(session).pinned_rows(ids)
    kept = [rows[i] for i in ids if i in rows and rows[i].status == ArticleStatus.APPROVED]
    gone = [i for i in ids if i not in {r.article_id for r in kept}]
    if gone:
        await store.zrem(key, *gone)
    return {"channel_id": channel_id, "articles": [_pinned_json(r) for r in kept]}


async def check_pinned(
    session: AsyncSession, channel_id: int, article_ids: Sequence[int]
) -> dict[str, Any]:
    """M36, first half: the new list must be valid; returns it shaped as in M35."""
    await _check_channel(session, channel_id)
    ids = list(article_ids)
    if len(set(ids)) != len(ids) or len(ids) > MAX_PINNED:
        raise BadRequest(f"article_ids: at most {MAX_PINNED} distinct ids")
    rows = await ChannelRepository.from_session(session).pinned_rows(ids)
    missing = [i for i in ids if i not in rows]
    if missing:
        raise BadRequest(f"article_ids: unknown articles {', '.join(map(str, missing))}")
    for article_id in ids:
        row = rows[article_id]
        if channel_id != RECOMMENDED and row.channel_id != channel_id:
            raise BadRequest(f"article_ids: article {article_id} belongs to another channel")
        if row.status != ArticleStatus.APPROVED:
            raise Conflict(f"Article {article_id} ({row.title}) is not approved.")
    return {"channel_id": channel_id, "articles": [_pinned_json(rows[i]) for i in ids]}


async def save_pinned(store: Any, channel_id: int, article_ids: Sequence[int]) -> None:
    """M36, second half: the whole list replaced in one MULTI; the first id scores highest."""
    ids = list(article_ids)
    key = pinned_key(channel_id)
    try:
        async with store.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if ids:
                pipe.zadd(key, {str(a): len(ids) - n for n, a in enumerate(ids)})
            await pipe.execute()
    except RedisError as exc:
        raise Unavailable("Pinned articles could not be saved.") from exc
