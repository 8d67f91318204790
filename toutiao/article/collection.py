"""Collecting articles (app.md E40, E41) and the per-user collection cache.

Writes follow the rules of ``attitude.py``: the database decides whether this request
changed anything (conditional UPDATE rowcount, INSERT in a SAVEPOINT), and the counters move
after the commit by exactly what committed.

``user:{uid}:art:collection`` (storage role) is a zset: article id -> collect time (epoch s)
of the user's collections of approved articles, plus the member ``-1`` (score 0) marking the
zset as complete (so "none" can be cached too). A write replaces it with a tombstone zset
(member ``-2``); fills only create a missing key. ``count:user:art:collecting`` = 0 answers
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
from toutiao.kit.cache import TOMBSTONE_SECONDS, TTL
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
COMPLETE = "-1"
TOMBSTONE = "-2"

# Create the zset (with its COMPLETE marker) only if the key is missing.
# ARGV: ttl, score, member, score, member, ...
FILL_ZSET = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('ZADD', KEYS[1], 0, '-1')
for i = 2, #ARGV, 400 do
  redis.call('ZADD', KEYS[1], unpack(ARGV, i, math.min(i + 399, #ARGV)))
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""
# ARGV: ttl. Atomic, so the key is never left without a TTL.
TOMBSTONE_ZSET = """
redis.call('DEL', KEYS[1])
redis.call('ZADD', KEYS[1], 0, '-2')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


def collection_key(user_id: int) -> str:
    return f"user:{user_id}:art:collection"


def queue_forget_collections(pipe: Any, *user_ids: int) -> None:
    """Tombstone these users' cached collection lists (an article in them entered or left
    "approved"): the next read rebuilds them from the database."""
    for user_id in user_ids:
        pipe.eval(TOMBSTONE_ZSET, 1, collection_key(user_id), TOMBSTONE_SECONDS)


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
            pipe.eval(TOMBSTONE_ZSET, 1, collection_key(user_id), TOMBSTONE_SECONDS)
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
    pipe.zmscore(collection_key(user_id), [str(article_id), COMPLETE, TOMBSTONE])
    return 2


async def resolve_collected(
    runtime: Runtime, session: AsyncSession, user_id: int, article_id: int, results: Sequence[Any]
) -> bool:
    """The answer to :func:`queue_collected_read`'s commands (empty ``results``: Redis failed)."""
    if len(results) == 2:
        count, scores = results
        if not isinstance(count, Exception) and not count:
            return False  # the zero-counter shortcut
        if isinstance(scores, list) and len(scores) == 3:
            found, complete, tombstone = scores
            if complete is not None and tombstone is None:
                return found is not None
            if tombstone is None:
                collected = await load_collections(session, user_id)
                if len(collected) <= LIST_CACHE_LIMIT:
                    await fill_collections(runtime, user_id, collected)
                    return any(a == article_id for a, _ in collected)
    return bool(
        await session.scalar(
            select(Collection.article_id).where(
                Collection.user_id == user_id,
                Collection.article_id == article_id,
                Collection.is_deleted.is_(False),
            )
        )
    )


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


async def fill_zset(redis: Any, key: str, pairs: list[tuple[int, float]], ttl: TTL) -> None:
    """Create a complete list zset (``-1`` marker + pairs) unless the key exists."""
    args: list[Any] = [ttl.draw()]
    for member, score in pairs:
        args += [score, member]
    try:
        await redis.eval(FILL_ZSET, 1, key, *args)
    except RedisError:
        log.warning("article.list_fill_failed key=%s", key, exc_info=True)
