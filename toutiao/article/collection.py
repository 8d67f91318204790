"""Collecting articles (app.md E40, E41) and the per-user collection cache.

Writes follow the rules of ``attitude.py``: the database decides whether this request
changed anything (conditional UPDATE rowcount, INSERT in a SAVEPOINT), and the counters move
after the commit by exactly what committed.

``user:{uid}:art:collection`` (storage role) is a zset: article id -> collect time (epoch s)
of the user's collections of approved articles, plus the member ``-1`` (score 0) marking the
zset as complete (so "none" can be cached too). Past ``LIST_CACHE_LIMIT`` collections it is
LARGE instead (member ``-3``): it then holds only the articles asked about (collect time, or
-1 for "not collected"), and the lists are paged in SQL. A write replaces a complete zset
with a tombstone zset (member ``-2``), and tombstones only its article in a LARGE one
(``kit.cache``'s per-owner rules); fills only create a missing key. ``count:user:art:collecting`` = 0 answers
"nothing collected" without reading the zset or the database (facts §3.5).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article.attitude import approved_card, exists
from toutiao.kit.cache import (
    ABSENT,
    INVALIDATED,
    TTL,
    ZSET,
    Owned,
    fill_items,
    fill_owned,
    parse_owned,
    queue_forget_owned,
    queue_owned_read,
)
from toutiao.kit.db import on_commit
from toutiao.kit.writes import insert_or_conflict, lock_user, retry_deadlocks
from toutiao.models import Article, Collection
from toutiao.models.base import local_now
from toutiao.models.enums import ArticleStatus
from toutiao.recommend import events
from toutiao.relation.policy import ensure_may_interact
from toutiao.runtime import Runtime
from toutiao.stats import counters as c

log = logging.getLogger("toutiao.article")

COLLECTIONS_TTL = TTL(600, 120)
# A list longer than this is not cached (Redis memory, Lua run time): SQL answers instead.
LIST_CACHE_LIMIT = 10_000
COMPLETE = ABSENT
TOMBSTONE = INVALIDATED
NOT_COLLECTED = -1  # a LARGE zset's score for "asked, not collected"


def collection_key(user_id: int) -> str:
    return f"user:{user_id}:art:collection"


def queue_forget_collections(
    pipe: Any, user_ids: Sequence[int], article_ids: Sequence[int]
) -> None:
    """These users collected these articles, which entered or left "approved": a complete
    list is tombstoned (the next read rebuilds it), a LARGE one forgets only these articles."""
    for user_id in user_ids:
        queue_forget_owned(pipe, ZSET, collection_key(user_id), *article_ids)


# -- writes ---------------------------------------------------------------------------------


async def _reactivate(session: AsyncSession, user_id: int, article_id: int, deleted: bool) -> bool:
    """Flip ``is_deleted`` from ``not deleted`` to ``deleted``; True if this statement did."""
    result = await session.execute(
        update(Collection)
        .where(
            Collection.user_id == user_id,
            Collection.article_id == article_id,
            Collection.is_deleted.is_(not deleted),
        )
        .values(is_deleted=deleted, update_time=local_now())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def _write_collect(session: AsyncSession, user_id: int, article_id: int) -> bool:
    """Insert or re-activate; the read only picks the first statement (see attitude._write)."""
    await lock_user(session, user_id)
    if not await exists(session, Collection, user_id, article_id):
        row = insert(Collection).values(user_id=user_id, article_id=article_id, is_deleted=False)
        if await insert_or_conflict(session, row):
            return True
    return await _reactivate(session, user_id, article_id, deleted=False)


def _after_commit(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int,
    article_id: int,
    amount: int,
    event: dict[str, Any] | None = None,
) -> None:
    """Both counters, the tombstone and the behaviour event, one round trip after the commit."""

    async def apply() -> None:
        async with runtime.store.pipeline(transaction=False) as pipe:
            c.ARTICLE_COLLECTS.queue(pipe, article_id, amount)
            c.USER_COLLECTS.queue(pipe, user_id, amount)
            queue_forget_owned(pipe, ZSET, collection_key(user_id), article_id)
            if event is not None:
                events.queue_event(pipe, **event)
            await pipe.execute()

    on_commit(session, apply)


async def collect(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int,
    article_id: int,
    *,
    trace: str | None = None,
) -> bool:
    """Collect an approved article (idempotent); True if it was not collected before.

    A new collection is also a ``collect`` behaviour event for the recommender, carrying the
    client's ``Trace`` header (opaque; bounded by the event log).
    """
    card = await approved_card(runtime, session, article_id)
    await ensure_may_interact(runtime, session, user_id, [card["aut_id"]])
    changed = await retry_deadlocks(session, lambda: _write_collect(session, user_id, article_id))
    if changed:
        event = {
            "action": "collect",
            "user_id": str(user_id),
            "article_id": article_id,
            "channel_id": card["ch_id"],
            "param": trace,
        }
        _after_commit(runtime, session, user_id, article_id, 1, event)
    return changed


async def uncollect(runtime: Runtime, session: AsyncSession, user_id: int, article_id: int) -> bool:
    """Remove a collection if there is one (idempotent, any article status)."""

    async def write() -> bool:
        await lock_user(session, user_id)
        return await _reactivate(session, user_id, article_id, deleted=True)

    changed = await retry_deadlocks(session, write)
    if changed:
        _after_commit(runtime, session, user_id, article_id, -1)
    return changed


# -- the collection cache -------------------------------------------------------------------


def queue_collected_read(pipe: Any, user_id: int, article_id: int) -> int:
    """Queue "has the user collected this article?"; returns the commands queued."""
    pipe.zscore(c.USER_COLLECTS.key, user_id)
    queue_owned_read(pipe, ZSET, collection_key(user_id), [str(article_id)])
    return 2


async def resolve_collected(
    runtime: Runtime, session: AsyncSession, user_id: int, article_id: int, results: Sequence[Any]
) -> bool:
    """The answer to :func:`queue_collected_read`'s commands (empty ``results``: Redis failed).

    Warm, no SQL. A miss loads at most ``LIST_CACHE_LIMIT + 1`` collections once: the whole
    list is cached within the limit; past it the zset is cached LARGE, holding the articles
    asked about (collect time, or -1), each read from SQL once.
    """
    count, raw = results if len(results) == 2 else (RedisError(), None)
    if not isinstance(count, Exception) and not count:
        return False  # the zero-counter shortcut
    key = collection_key(user_id)
    read = parse_owned(ZSET, raw, [str(article_id)])
    if read.state == Owned.MISS:
        # the counter already says "too many" (it counts any status: at worst a list that
        # would have fit is cached per article): skip reading limit + 1 rows
        many = not isinstance(count, Exception) and float(count or 0) > LIST_CACHE_LIMIT
        collected = [] if many else await load_collections(session, user_id)
        if not many and len(collected) <= LIST_CACHE_LIMIT:
            await fill_collections(runtime, user_id, collected)
            return any(a == article_id for a, _ in collected)
        found = await _collected_at(session, user_id, article_id)
        await fill_owned(runtime.store, ZSET, key, COLLECTIONS_TTL, [found], large=True)
        return found[1] != NOT_COLLECTED
    if read.state == Owned.HIT:
        score = read.known[str(article_id)]
        return score is not None and score != NOT_COLLECTED
    found = await _collected_at(session, user_id, article_id)
    if read.state == Owned.PARTIAL:
        await fill_items(runtime.store, ZSET, key, [found])
    return found[1] != NOT_COLLECTED


async def _collected_at(session: AsyncSession, user_id: int, article_id: int) -> tuple[str, float]:
    """``(article id, collect time or NOT_COLLECTED)``: one indexed row at most."""
    when = await session.scalar(
        select(Collection.update_time).where(
            Collection.user_id == user_id,
            Collection.article_id == article_id,
            Collection.is_deleted.is_(False),
        )
    )
    return str(article_id), NOT_COLLECTED if when is None else when.timestamp()


def collections_query(user_id: int) -> Select[Any]:
    """``(article id, collect time)`` of the user's collections of approved articles, most
    recent first (ties: larger id first, as a zset orders equal scores)."""
    return (
        select(Collection.article_id, Collection.update_time)
        .join(Article, Article.article_id == Collection.article_id)
        .where(
            Collection.user_id == user_id,
            Collection.is_deleted.is_(False),
            Article.status == ArticleStatus.APPROVED,
        )
        .order_by(Collection.update_time.desc(), Collection.article_id.desc())
    )


async def load_collections(session: AsyncSession, user_id: int) -> list[tuple[int, float]]:
    """At most ``LIST_CACHE_LIMIT + 1`` pairs: more than the limit means "too long to cache"."""
    rows = await session.execute(collections_query(user_id).limit(LIST_CACHE_LIMIT + 1))
    return [(article_id, when.timestamp()) for article_id, when in rows]


async def fill_collections(
    runtime: Runtime, user_id: int, collected: list[tuple[int, float]]
) -> None:
    await fill_zset(runtime.store, collection_key(user_id), collected, COLLECTIONS_TTL)


async def fill_zset(
    redis: Any, key: str, pairs: list[tuple[int, float]], ttl: TTL, *, large: bool = False
) -> None:
    """Create a complete list zset (``-1`` marker + pairs), or a LARGE one (``-3`` marker: the
    list is too long to cache, page it in SQL), unless the key exists."""
    await fill_owned(redis, ZSET, key, ttl, [(str(m), score) for m, score in pairs], large=large)
