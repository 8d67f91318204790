"""What ranking needs of an article (author, channel, publish time), cached in-process.

Candidates number in the hundreds per request; reading their rows every time was the
largest database cost of a fresh batch. The cache holds approved articles only, for five
minutes at most. Whoever withdraws, deletes, bans or moves an approved article bumps
``keys.CATALOG`` (``article.cache.article_changed`` does it with the card cache), and every
recommender drops this cache and the recent lists on its next request, so the change takes
effect at once; the API also drops articles whose card is gone.

Everything kept here, and the rows built from it, are plain tuples of numbers: a collection
that reaches such a tuple stops tracking it (a tuple holding tuples only once they are
untracked, so at worst one level a collection: the metadata entries, tens of thousands at
100,000 articles, are flat), and then it adds nothing to the recommender's collections. A
named tuple, or any other class, would stay tracked for as long as it is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.db import Database
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus

log = logging.getLogger("toutiao.recommend")

IN_CHUNK = 1000


# (author_id, channel_id, published in epoch seconds); read it by unpacking.
ArticleMeta = tuple[int, int, float]


async def approved_meta(session: AsyncSession, article_ids: list[int]) -> dict[int, ArticleMeta]:
    """The approved ones among ``article_ids`` (primary-key lookups)."""
    found: dict[int, ArticleMeta] = {}
    for start in range(0, len(article_ids), IN_CHUNK):
        chunk = article_ids[start : start + IN_CHUNK]
        query = select(
            Article.article_id, Article.user_id, Article.channel_id, Article.pubdate
        ).where(Article.article_id.in_(chunk), Article.status == ArticleStatus.APPROVED)
        for aid, author, channel, pubdate in (await session.execute(query)).all():
            found[aid] = (author, channel, pubdate.timestamp() if pubdate else 0.0)
    return found


async def recent(session: AsyncSession, depth: dict[int, int]) -> list[tuple[int, ArticleMeta]]:
    """The newest approved articles, ``depth[channel]`` of each channel, newest first within
    a channel."""
    if not depth:
        return []
    parts = [
        select(Article.article_id, Article.user_id, Article.channel_id, Article.pubdate)
        .where(
            Article.channel_id == cid,
            Article.status == ArticleStatus.APPROVED,
            Article.pubdate.is_not(None),
        )
        .order_by(Article.pubdate.desc())
        .limit(limit)
        .subquery()
        for cid, limit in sorted(depth.items())
    ]
    query = union_all(*(select(*part.c) for part in parts))
    rows = sorted(
        (await session.execute(query)).all(),
        key=lambda r: (r.channel_id, r.pubdate, r.article_id),
        reverse=True,
    )
    return [
        (row.article_id, (row.user_id, row.channel_id, row.pubdate.timestamp())) for row in rows
    ]


async def older(
    session: AsyncSession, channel_id: int, before: float, limit: int
) -> list[tuple[int, ArticleMeta]]:
    """Approved articles older than ``before`` (epoch s), newest first: deeper recency for a
    reader who has seen the newest ones. Channel 0 walks the (status, create_time) index,
    an article being created before it is published."""
    until = datetime.fromtimestamp(before, UTC).astimezone().replace(tzinfo=None)
    query = select(Article.article_id, Article.user_id, Article.channel_id, Article.pubdate).where(
        Article.status == ArticleStatus.APPROVED, Article.pubdate.is_not(None)
    )
    if channel_id:
        query = query.where(Article.channel_id == channel_id, Article.pubdate < until)
        query = query.order_by(Article.pubdate.desc())
    else:
        query = query.where(Article.create_time < until).order_by(Article.create_time.desc())
    rows = (await session.execute(query.limit(limit))).all()
    return [
        (aid, (author, cid, when.timestamp() if when else 0.0)) for aid, author, cid, when in rows
    ]


class MetaCache:
    """A bounded LRU of article metadata; ``None`` remembers "not approved" for a shorter time.

    An entry is one flat tuple, when it expires and then the metadata (or nothing): no tuple
    inside it, so the first young collection that reaches it stops tracking it."""

    def __init__(self, size: int = 50_000, ttl: float = 300.0, absent_ttl: float = 30.0):
        self.size, self.ttl, self.absent_ttl = size, ttl, absent_ttl
        self._items: OrderedDict[int, tuple[float, ...]] = OrderedDict()

    def lookup(self, article_ids: Iterable[int]) -> tuple[dict[int, ArticleMeta], list[int]]:
        """(known approved articles, ids to load); known-absent ones are in neither."""
        now = time.monotonic()
        known: dict[int, ArticleMeta] = {}
        missing: list[int] = []
        for aid in article_ids:
            entry = self._items.get(aid)
            if entry is None or entry[0] <= now:
                missing.append(aid)
            elif len(entry) > 1:
                known[aid] = cast(ArticleMeta, entry[1:])
        return known, missing

    def put(self, aid: int, meta: ArticleMeta | None) -> None:
        expires = time.monotonic() + (self.ttl if meta is not None else self.absent_ttl)
        self._items[aid] = (expires,) if meta is None else (expires, *meta)
        self._items.move_to_end(aid)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def put_loaded(self, wanted: Iterable[int], found: dict[int, ArticleMeta]) -> None:
        for aid in wanted:
            self.put(aid, found.get(aid))

    def clear(self) -> None:
        self._items.clear()


Recent = list[tuple[int, ArticleMeta]]


class RecentArticles:
    """Each channel's newest approved articles: the same for every reader and the heaviest
    query of a request, so cached in-process for ``ttl`` seconds. An expired entry is still
    served while one background task reloads it (no reader waits, no stampede); ``ttl`` 0
    reads through every time."""

    def __init__(self, db: Database, meta: MetaCache, *, ttl: float, depth: int) -> None:
        self.db, self.meta, self.ttl, self.depth = db, meta, ttl, depth
        self._rows: dict[int, tuple[float, tuple[tuple[int, ArticleMeta], ...]]] = {}
        self._reload: asyncio.Task[None] | None = None

    async def get(self, session: AsyncSession, depth: dict[int, int]) -> Recent:
        now = time.monotonic()
        missing = [cid for cid in depth if cid not in self._rows or self.ttl <= 0]
        if missing:
            await self._load(session, missing)
        expired = [cid for cid in depth if self._rows[cid][0] <= now]
        if expired and self.ttl > 0 and self._reload is None:
            self._reload = asyncio.create_task(self._background(expired))
        return [pair for cid, limit in depth.items() for pair in self._rows[cid][1][:limit]]

    async def _load(self, session: AsyncSession, channels: list[int]) -> None:
        found: dict[int, Recent] = {cid: [] for cid in channels}
        for aid, meta in await recent(session, dict.fromkeys(channels, self.depth)):
            _, channel, _ = meta
            found[channel].append((aid, meta))
            self.meta.put(aid, meta)
        expires = time.monotonic() + self.ttl
        for cid, pairs in found.items():
            self._rows[cid] = (expires, tuple(pairs))

    async def _background(self, channels: list[int]) -> None:
        try:
            async with self.db.read_session() as session:
                await self._load(session, channels)
        except Exception:
            log.warning("recommend.recent_reload_failed", exc_info=True)
        finally:
            self._reload = None

    def clear(self) -> None:
        """Forget every channel: the next request reads them again."""
        self._rows.clear()

    async def close(self) -> None:
        if self._reload is not None:
            self._reload.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reload
