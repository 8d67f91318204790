"""Paged article lists of a user (app.md E36-E39) and the reading history writer.

| key | role | type | content |
|---|---|---|---|
| ``user:{uid}:art`` | cache | zset | the user's approved articles -> pubdate (s), ``-1`` marker, TTL 600 + <120 s |
| ``user:{uid}:art:collection`` | storage | zset | see ``collection.py`` |
| ``user:{uid}:his:reading`` | storage | zset | article -> read time (s), the 100 most recent, no TTL |

A page costs: one round trip for the id list (with its zero-counter shortcut), the cards
(L1 or one MGET), and ONE pipeline for author names, counters and the caller's likes
(``present_cards``). Ids whose article is no longer approved have no card and are skipped,
never a 500 (facts §14.13).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article import collection as collection_module
from toutiao.article.attitude import queue_attitudes_read, resolve_attitudes
from toutiao.article.cache import get_cards
from toutiao.article.cards import present_cards
from toutiao.article.collection import (
    COLLECTIONS_TTL,
    COMPLETE,
    TOMBSTONE,
    collection_key,
    collections_query,
    fill_zset,
)
from toutiao.kit.cache import LARGE, TTL, invalidate
from toutiao.kit.errors import BadRequest
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime
from toutiao.stats import counters as c
from toutiao.user import cache as user_cache

log = logging.getLogger("toutiao.article")

USER_ARTICLES_TTL = TTL(600, 120)
HISTORY_MAX = 100
LIST_COUNTS = (c.ARTICLE_COMMENTS, c.ARTICLE_LIKES, c.ARTICLE_COLLECTS)


def user_articles_key(user_id: int) -> str:
    return f"user:{user_id}:art"


def history_key(user_id: int) -> str:
    return f"user:{user_id}:his:reading"


def queue_history_write(pipe: Any, user_id: int, article_id: int, now: float) -> int:
    """Record a read (E34) on the caller's storage pipeline: most recent wins, 100 kept."""
    key = history_key(user_id)
    pipe.zadd(key, {str(article_id): now})
    pipe.zremrangebyrank(key, 0, -(HISTORY_MAX + 1))
    return 2


async def forget_user_articles(cache: Any, *user_ids: int) -> None:
    """After an author's article is approved, withdrawn, banned or deleted (mp / mis)."""
    await invalidate(cache, *(user_articles_key(u) for u in user_ids))


@dataclass(frozen=True)
class _Page:
    page: int
    per_page: int

    @property
    def start(self) -> int:
        return (self.page - 1) * self.per_page

    def body(self, results: list[dict[str, Any]], total: int) -> dict[str, Any]:
        return {
            "page": self.page,
            "per_page": self.per_page,
            "results": results,
            "total_count": total,
        }


# -- the four lists -------------------------------------------------------------------------


async def my_articles(
    runtime: Runtime, session: AsyncSession, user_id: int, *, page: int, per_page: int
) -> dict[str, Any]:
    """E36: my approved articles, newest first (no ``is_liking``: app.md §5.28)."""
    paging = _Page(page, per_page)
    ids, total = await _user_article_ids(runtime, session, user_id, paging)
    return paging.body(
        await _present(runtime, session, ids, viewer_id=None, with_liking=False), total
    )


async def user_articles(
    runtime: Runtime,
    session: AsyncSession,
    viewer_id: int | None,
    author_id: int,
    *,
    page: int,
    per_page: int,
) -> dict[str, Any]:
    """E37: a user's approved articles, newest first, with the viewer's ``is_liking``."""
    paging = _Page(page, per_page)
    if await user_cache.get_profile(runtime.cache, session, author_id) is None:
        raise BadRequest("Invalid target user.")
    ids, total = await _user_article_ids(runtime, session, author_id, paging)
    return paging.body(
        await _present(runtime, session, ids, viewer_id=viewer_id, with_liking=True), total
    )


async def my_collections(
    runtime: Runtime, session: AsyncSession, user_id: int, *, page: int, per_page: int
) -> dict[str, Any]:
    """E38: the articles I collected, most recently collected first."""
    paging = _Page(page, per_page)
    ids, total = await _list_page(
        runtime,
        session,
        _ListCache(runtime.store, collection_key(user_id), COLLECTIONS_TTL),
        (c.USER_COLLECTS, user_id),
        collections_query(user_id),
        paging,
    )
    return paging.body(
        await _present(runtime, session, ids, viewer_id=user_id, with_liking=True), total
    )


async def my_history(
    runtime: Runtime, session: AsyncSession, user_id: int, *, page: int, per_page: int
) -> dict[str, Any]:
    """E39: articles I opened, most recent first; only approved ones are listed and counted."""
    paging = _Page(page, per_page)
    ids = [int(m) for m in await runtime.store.zrevrange(history_key(user_id), 0, HISTORY_MAX - 1)]
    cards = await get_cards(runtime.cache, session, ids)
    readable = [cards[a] for a in ids if a in cards]
    shown = readable[paging.start : paging.start + paging.per_page]
    items = await _present_cards(runtime, session, shown, viewer_id=user_id, with_liking=True)
    return paging.body(items, len(readable))


# -- id lists: Redis zset with a zero-counter shortcut, else SQL (and a fill) -----------------


def _user_articles_query(author_id: int) -> Select[Any]:
    published = func.coalesce(Article.pubdate, Article.create_time)
    return (
        select(Article.article_id, published)
        .where(Article.user_id == author_id, Article.status == ArticleStatus.APPROVED)
        .order_by(published.desc(), Article.article_id.desc())
    )


async def _user_article_ids(
    runtime: Runtime, session: AsyncSession, author_id: int, paging: _Page
) -> tuple[list[int], int]:
    return await _list_page(
        runtime,
        session,
        _ListCache(runtime.cache, user_articles_key(author_id), USER_ARTICLES_TTL),
        (c.USER_ARTICLES, author_id),
        _user_articles_query(author_id),
        paging,
    )


@dataclass(frozen=True)
class _ListCache:
    redis: Any
    key: str
    ttl: TTL


async def _list_page(
    runtime: Runtime,
    session: AsyncSession,
    cache: _ListCache,
    count: tuple[c.Counter, int],
    query: Select[Any],
    paging: _Page,
) -> tuple[list[int], int]:
    """One page of ids (newest first) and the list's size.

    ``query`` selects ``(id, time)`` in list order. The zset answers when it is complete; a
    counter of 0 answers "empty" without it; on a miss the whole list is loaded and cached;
    a list too long to cache is remembered as LARGE and each page read in SQL (one page of
    rows and a count, never the whole list);
    after a write (a zset tombstone, or ``kit.cache``'s string tombstone, which reads back as
    WRONGTYPE) or with Redis down it is loaded, not cached.
    """
    counter, member = count
    try:
        found, marks, ids, total = await _read_list(runtime, cache, counter, member, paging)
    except RedisError:
        log.warning("article.list_cache_unavailable key=%s", cache.key)
        found = marks = ids = total = RedisError()
    if not isinstance(found, Exception) and not found:
        return [], 0
    cacheable = not isinstance(found, RedisError)
    if isinstance(marks, list) and isinstance(ids, list):
        complete, tombstone, large = marks
        if complete is not None and tombstone is None and not isinstance(total, Exception):
            return [int(m) for m in ids], int(total)
        if large is not None and tombstone is None:
            return await _sql_page(session, query, paging)
        cacheable = cacheable and tombstone is None
    else:
        cacheable = False
    limit = collection_module.LIST_CACHE_LIMIT
    many = not isinstance(found, Exception) and float(found or 0) > limit  # the counter says so
    rows = [] if many else (await session.execute(query.limit(limit + 1))).all()
    if many or len(rows) > limit:
        if cacheable:  # remembered as too long: later pages go straight to SQL
            await fill_zset(cache.redis, cache.key, [], cache.ttl, large=True)
        return await _sql_page(session, query, paging)
    pairs = [(article_id, when.timestamp()) for article_id, when in rows]
    if cacheable:
        await fill_zset(cache.redis, cache.key, pairs, cache.ttl)
    return [a for a, _ in pairs[paging.start : paging.start + paging.per_page]], len(pairs)


async def _sql_page(
    session: AsyncSession, query: Select[Any], paging: _Page
) -> tuple[list[int], int]:
    rows = await session.execute(query.offset(paging.start).limit(paging.per_page))
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return [article_id for article_id, _ in rows], int(total or 0)


async def _read_list(
    runtime: Runtime, cache: _ListCache, counter: c.Counter, member: int, paging: _Page
) -> list[Any]:
    """``[counter, [complete, tombstone], page ids, size]``: one round trip per Redis server."""
    key = cache.key

    def queue_list(pipe: Any) -> None:
        pipe.zmscore(key, [COMPLETE, TOMBSTONE, LARGE])
        pipe.zrevrangebyscore(key, "+inf", "(0", start=paging.start, num=paging.per_page)
        pipe.zcount(key, "(0", "+inf")

    if cache.redis is runtime.store:
        async with cache.redis.pipeline(transaction=False) as pipe:
            pipe.zscore(counter.key, member)
            queue_list(pipe)
            return list(await pipe.execute(raise_on_error=False))

    async def list_part() -> list[Any]:
        async with cache.redis.pipeline(transaction=False) as pipe:
            queue_list(pipe)
            return list(await pipe.execute(raise_on_error=False))

    found, rest = await asyncio.gather(runtime.store.zscore(counter.key, member), list_part())
    return [found, *rest]


# -- hydration ------------------------------------------------------------------------------


async def _present(
    runtime: Runtime,
    session: AsyncSession,
    ids: Sequence[int],
    *,
    viewer_id: int | None,
    with_liking: bool,
) -> list[dict[str, Any]]:
    cards = await get_cards(runtime.cache, session, ids)
    shown = [cards[a] for a in ids if a in cards]
    return await _present_cards(
        runtime, session, shown, viewer_id=viewer_id, with_liking=with_liking
    )


async def _present_cards(
    runtime: Runtime,
    session: AsyncSession,
    cards: list[dict[str, Any]],
    *,
    viewer_id: int | None,
    with_liking: bool,
) -> list[dict[str, Any]]:
    """Items + counters (+ ``is_liking``: the caller's likes ride on the same pipeline)."""
    if not cards:
        return []
    ids = [card["art_id"] for card in cards]

    def queue_likes(pipe: Any) -> None:
        if viewer_id is not None:
            queue_attitudes_read(pipe, viewer_id, ids)

    wants_likes = with_liking and viewer_id is not None
    items, extras = await present_cards(
        runtime, session, cards, with_counts=LIST_COUNTS, extra=queue_likes if wants_likes else None
    )
    if with_liking:
        liked = (
            await resolve_attitudes(runtime, session, viewer_id, ids, extras)
            if viewer_id is not None
            else {}
        )
        for item in items:
            item["is_liking"] = liked.get(item["art_id"]) == 1
    return items
