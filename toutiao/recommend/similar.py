"""Content similarity of approved articles, precomputed into ``reco:sim:{aid}``.

- ``rebuild_similarity``: the whole corpus, in memory, in three passes (tokenise and count
  document frequencies; weigh; search candidates through the inverted index), then a
  replacement of every index key in Redis. Nightly, and on the first run.
- ``sync_similarity``: the articles a content change named (published, edited, withdrawn,
  deleted), as the change happens: each leaves the index (its postings, keyword lists, its
  own list and its neighbours' lists), and if it is approved now, enters it again with its
  current text. The ``recommend.similar_sync`` task, sent by ``toutiao.content.sync``.
- ``refresh_similarity``: only articles approved since the last run (re-approval after an
  edit sets a new pubdate, so edits are included), searched against the postings kept in
  Redis, and linked into their neighbours' lists. Every few minutes, for what a lost sync
  missed.

The index lives in the storage Redis (persistent), so a restart of any process finds it
whole: nothing is rebuilt at start. A full rebuild is ``toutiao reco rebuild`` (or the first
refresh on an empty index); it overwrites keys in place, so lists stay served meanwhile.

Articles are read in keyset batches per channel through the (channel_id, status, pubdate)
index; nothing holds more than one batch of article text. Tokenising is the expensive part
and runs in worker processes for big runs (threads would starve the event loop of the GIL).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from multiprocessing import get_context
from typing import Any

from sqlalchemy import and_, func, or_, select

from toutiao.kit import text
from toutiao.kit.db import Database
from toutiao.kit.lease import Lease
from toutiao.models import Article, ArticleContent, Channel
from toutiao.models.enums import ArticleStatus
from toutiao.recommend import keys
from toutiao.recommend import vectors as v
from toutiao.recommend.store import delete_stale, write_hash, write_zsets

log = logging.getLogger("toutiao.recommend.similar")

BATCH = 500
# Approvals commit out of pubdate order; re-read a margin behind the watermark.
OVERLAP = timedelta(minutes=5)
PARALLEL_MIN_DOCS = 1500  # below this, a second worker process costs more than it saves


@dataclass
class IndexReport:
    mode: str
    articles: int
    seconds: float


Row = Any  # (article_id, pubdate, title, content)


async def _channel_ids(db: Database) -> list[int]:
    async with db.read_session() as session:
        return list((await session.scalars(select(Channel.channel_id).limit(10_000))).all())


async def approved_batches(
    db: Database, since: tuple[datetime, int] | None
) -> AsyncIterator[Sequence[Row]]:
    """Approved articles with (pubdate, id) after ``since``, oldest first, per channel."""
    for channel_id in await _channel_ids(db):
        last = since
        while True:
            query = (
                select(Article.article_id, Article.pubdate, Article.title, ArticleContent.content)
                .outerjoin(ArticleContent, ArticleContent.article_id == Article.article_id)
                .where(
                    Article.channel_id == channel_id,
                    Article.status == ArticleStatus.APPROVED,
                    Article.pubdate.is_not(None),
                )
                .order_by(Article.pubdate, Article.article_id)
                .limit(BATCH)
            )
            if last is not None:
                query = query.where(
                    or_(
                        Article.pubdate > last[0],
                        and_(Article.pubdate == last[0], Article.article_id > last[1]),
                    )
                )
            async with db.read_session() as session:
                rows = (await session.execute(query)).all()
            if not rows:
                break
            yield rows
            last = (rows[-1].pubdate, rows[-1].article_id)


class Tokenizer:
    """Runs ``text.analyse`` in worker processes, started on first use; ``workers=0`` runs it
    in a thread instead (tests). Processes keep jieba's dictionary (~100 MB) out of the
    serving process and do not starve its event loop of the GIL; they are spawned, not
    forked, because forking a process that runs gRPC is unsafe."""

    def __init__(self, workers: int, cache_dir: str | None = None) -> None:
        self.workers = max(0, workers)
        self.cache_dir = cache_dir or text.cache_dir()
        self._pool: Executor | None = None

    def __enter__(self) -> Tokenizer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _executor(self) -> Executor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=get_context("spawn"),
                initializer=text.init_worker,
                initargs=(self.cache_dir,),
            )
        return self._pool

    async def analyse(self, rows: Sequence[Row]) -> list[text.Analysed]:
        docs = [(row.title, row.content) for row in rows]
        if not self.workers:
            return await asyncio.to_thread(text.analyse, docs)
        loop, pool = asyncio.get_running_loop(), self._executor()
        size = -(-len(docs) // self.workers)
        parts = [docs[i : i + size] for i in range(0, len(docs), size)]
        done = await asyncio.gather(
            *(loop.run_in_executor(pool, text.analyse, part) for part in parts)
        )
        return [item for part in done for item in part]


def default_workers(expected_docs: int) -> int:
    return min(os.cpu_count() or 1, 4) if expected_docs >= PARALLEL_MIN_DOCS else 1


def _epoch(when: datetime) -> float:
    return when.timestamp()


def _watermark(rows: Sequence[Row], current: str | None) -> str | None:
    last = max(((row.pubdate, row.article_id) for row in rows), default=None)
    if last is None:
        return current
    mark = f"{last[0].isoformat()}|{last[1]}"
    if current and _parse_watermark(current) >= last:
        return current
    return mark


def _parse_watermark(value: str) -> tuple[datetime, int]:
    when, _, article_id = value.partition("|")
    return datetime.fromisoformat(when), int(article_id or 0)


# -- full rebuild ----------------------------------------------------------------------------


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _no_progress(_stage: str, _done: int, _total: int) -> None:
    return None


# One full build at a time across processes (two refreshes of an empty index, or a rebuild by
# hand while the worker refreshes, would each read and write everything); the lease is renewed
# every third of it while the build runs.
BUILD_LOCK = "similar-build"
BUILD_LOCK_SECONDS = 60


async def rebuild_similarity(
    db: Database,
    redis: Any,
    *,
    workers: int | None = None,
    cache_dir: str | None = None,
    progress: Progress = _no_progress,
) -> IndexReport:
    """The whole index from the database; if another full build is running, nothing (mode
    ``busy``)."""
    async with Lease(redis, keys.lock(BUILD_LOCK), BUILD_LOCK_SECONDS).hold() as held:
        if not held:
            log.info("recommend.similar_build_busy")
            return IndexReport("busy", 0, 0.0)
        return await _rebuild(db, redis, workers, cache_dir, progress)


async def _rebuild(
    db: Database, redis: Any, workers: int | None, cache_dir: str | None, progress: Progress
) -> IndexReport:
    started = time.perf_counter()
    counts, df, watermark = v.Corpus(), Counter[str](), None
    total = await _approved_count(db)
    if workers is None:
        workers = default_workers(total)
    with Tokenizer(workers, cache_dir) as tokenizer:
        async for rows in approved_batches(db, None):
            for row, (distinct, top) in zip(rows, await tokenizer.analyse(rows), strict=True):
                df.update(distinct)
                counts.add(row.article_id, _epoch(row.pubdate), [(t, float(c)) for t, c in top])
            watermark = _watermark(rows, watermark)
            progress("read", len(counts), total)
    corpus = await asyncio.to_thread(_weigh, counts, df)
    del counts
    await _write_full(redis, corpus, df, watermark, progress)
    report = IndexReport("rebuild", len(corpus), time.perf_counter() - started)
    log.info("recommend.similar_rebuilt articles=%d seconds=%.1f", report.articles, report.seconds)
    return report


async def _approved_count(db: Database) -> int:
    query = select(func.count()).where(Article.status == ArticleStatus.APPROVED)
    async with db.read_session() as session:
        return int(await session.scalar(query) or 0)


def _weigh(counts: v.Corpus, df: Counter[str]) -> v.Corpus:
    corpus, docs = v.Corpus(), len(counts)
    for index, article_id in enumerate(counts.ids):
        raw = [(term, int(c)) for term, c in counts.vector(index)]
        corpus.add(article_id, counts.pubdates[index], v.vectorize(raw, df, docs))
    return corpus


async def _write_full(
    redis: Any,
    corpus: v.Corpus,
    df: Counter[str],
    watermark: str | None,
    progress: Progress = _no_progress,
) -> None:
    """Write every index key, then drop the keys of articles and terms that left the index."""
    similar = corpus.similar_all()
    kept: set[str] = set()
    written = 0
    while chunk := await asyncio.to_thread(lambda: list(islice(similar, 2000))):
        lists = ((keys.similar(aid), {str(o): s for o, s in found}) for aid, found in chunk)
        kept.update(await write_zsets(redis, lists))
        written += len(chunk)
        progress("compare", written, len(corpus))
    postings = await asyncio.to_thread(corpus.postings)
    kept.update(
        await write_zsets(
            redis,
            (
                (keys.posting(t), dict(zip(map(str, ids), ws, strict=True)))
                for t, (ids, ws) in postings.items()
            ),
        )
    )
    del postings
    kept.update(
        await write_zsets(redis, ((keys.keyword(t), m) for t, m in corpus.keyword_postings()))
    )
    for pattern in ("reco:sim:*", "reco:idx:post:*", "reco:idx:kw:*"):
        await delete_stale(redis, pattern, kept)
    artkw = {str(aid): " ".join(v.keywords(corpus.vector(i))) for i, aid in enumerate(corpus.ids)}
    await write_hash(redis, keys.ART_KEYWORDS, artkw)  # "" too: marks the article as counted
    del artkw
    terms = {str(aid): " ".join(t for t, _ in corpus.vector(i)) for i, aid in enumerate(corpus.ids)}
    await write_hash(redis, keys.ART_TERMS, terms)
    await write_hash(redis, keys.DF, {t: n for t, n in df.items() if n >= v.MIN_DF})
    meta = {"docs": len(corpus), "built_at": int(time.time()), "watermark": watermark or ""}
    await redis.hset(keys.INDEX_META, mapping=meta)


# -- incremental -----------------------------------------------------------------------------


async def refresh_similarity(
    db: Database, redis: Any, *, workers: int | None = None, cache_dir: str | None = None
) -> IndexReport:
    """Index articles approved since the last run; the first run is a full rebuild."""
    watermark = await redis.hget(keys.INDEX_META, "watermark")
    if not watermark:
        return await rebuild_similarity(db, redis, workers=workers, cache_dir=cache_dir)
    started = time.perf_counter()
    mark = _parse_watermark(watermark)
    total = 0
    with Tokenizer(1 if workers is None else workers, cache_dir) as tokenizer:
        async for rows in approved_batches(db, (mark[0] - OVERLAP, 0)):
            fresh = await _not_indexed(redis, rows, mark)
            if fresh:  # the tokenizer's process starts only when there is something to read
                total += await _index_batch(redis, fresh, await tokenizer.analyse(fresh))
            watermark = _watermark(rows, watermark)
            await redis.hset(keys.INDEX_META, "watermark", watermark or "")
    report = IndexReport("refresh", total, time.perf_counter() - started)
    if total:
        log.info("recommend.similar_refreshed articles=%d seconds=%.2f", total, report.seconds)
    return report


async def _not_indexed(redis: Any, rows: Sequence[Row], mark: tuple[datetime, int]) -> list[Row]:
    """The rows a refresh reads: every one past the watermark (new, or approved again after
    an edit, which sets a new pubdate), and those of the overlap window behind it that the
    index does not hold (approved late, under an older pubdate). Reading the whole window
    again every run analysed the same articles each time, in a process started for them
    (about 1.5 s of CPU every five minutes, on a quiet site for nothing)."""
    behind = [row for row in rows if (row.pubdate, row.article_id) <= mark]
    if not behind:
        return list(rows)
    known = await redis.hmget(keys.ART_KEYWORDS, [str(row.article_id) for row in behind])
    held = {row.article_id for row, words in zip(behind, known, strict=True) if words is not None}
    return [row for row in rows if row.article_id not in held]


async def _index_batch(redis: Any, rows: Sequence[Row], analysed: list[text.Analysed]) -> int:
    known = await redis.hmget(keys.ART_KEYWORDS, [str(row.article_id) for row in rows])
    fresh = [distinct for (distinct, _), seen in zip(analysed, known, strict=True) if seen is None]
    docs, df = await _update_frequencies(redis, fresh, analysed)
    vectors = [v.vectorize(top, df, docs) for _, top in analysed]
    items = [(row, vec) for row, vec in zip(rows, vectors, strict=True) if vec]
    async with redis.pipeline(transaction=False) as pipe:
        for row, vec in zip(rows, vectors, strict=True):
            if not vec:  # nothing to compare, but its words are counted: remember it
                pipe.hset(keys.ART_KEYWORDS, str(row.article_id), "")
        for row, vec in items:
            for term, weight in vec:
                pipe.zadd(keys.posting(term), {str(row.article_id): weight})
                pipe.zremrangebyrank(keys.posting(term), 0, -v.POSTING_CAP - 1)
        await pipe.execute()
    terms = sorted({term for _, vec in items for term, _ in vec})
    async with redis.pipeline(transaction=False) as pipe:
        for term in terms:
            pipe.zrange(keys.posting(term), 0, -1, withscores=True)
        found = await pipe.execute()
    postings = {
        t: ([int(a) for a, _ in got], [s for _, s in got])
        for t, got in zip(terms, found, strict=True)
    }
    async with redis.pipeline(transaction=False) as pipe:
        for row, vec in items:
            _queue_article(pipe, row, vec, v.best(v.accumulate(vec, postings), row.article_id))
        await pipe.execute()
    return len(items)


async def _update_frequencies(
    redis: Any, fresh: list[list[str]], analysed: list[text.Analysed]
) -> tuple[int, dict[str, int]]:
    """Count the new articles' terms in, then read the frequencies this batch needs."""
    async with redis.pipeline(transaction=False) as pipe:
        for distinct in fresh:
            for term in distinct:
                pipe.hincrby(keys.DF, term, 1)
        pipe.hincrby(keys.INDEX_META, "docs", len(fresh))
        docs = int((await pipe.execute())[-1])
    wanted = sorted({term for _, top in analysed for term, _ in top})
    values = await redis.hmget(keys.DF, wanted) if wanted else []
    return docs, {t: int(n) for t, n in zip(wanted, values, strict=True) if n}


def _queue_article(pipe: Any, row: Row, vec: v.Vector, found: list[tuple[int, float]]) -> None:
    aid = row.article_id
    pipe.delete(keys.similar(aid))
    if found:
        pipe.zadd(keys.similar(aid), {str(other): score for other, score in found})
    for other, score in found:  # the new article may now be among its neighbours' best
        pipe.zadd(keys.similar(other), {str(aid): score})
        pipe.zremrangebyrank(keys.similar(other), 0, -v.SIMILAR_SIZE - 1)
    words = v.keywords(vec)
    pipe.hset(keys.ART_KEYWORDS, str(aid), " ".join(words))
    pipe.hset(keys.ART_TERMS, str(aid), " ".join(term for term, _ in vec))
    for term in words:
        pipe.zadd(keys.keyword(term), {str(aid): _epoch(row.pubdate)})
        pipe.zremrangebyrank(keys.keyword(term), 0, -v.KEYWORD_CAP - 1)


# -- as content changes ------------------------------------------------------------------------


async def sync_similarity(db: Database, redis: Any, article_ids: Sequence[int]) -> IndexReport:
    """Bring these articles' index entries to their current rows: every one leaves the index,
    the approved ones enter it again with their current text (an edit changes the vector).
    Any number of repeats, in any order, ends in the same index."""
    started = time.perf_counter()
    ids = sorted({int(a) for a in article_ids})
    rows = await _approved_rows(db, ids) if ids else []
    approved = {row.article_id for row in rows}
    await _forget(redis, ids, keep_counted=approved)
    indexed = 0
    if rows:
        with Tokenizer(0) as tokenizer:  # a few articles: a thread is cheaper than a process
            indexed = await _index_batch(redis, rows, await tokenizer.analyse(rows))
    report = IndexReport("sync", indexed, time.perf_counter() - started)
    log.info(
        "recommend.similar_synced articles=%d indexed=%d left=%d",
        len(ids),
        indexed,
        len(ids) - len(approved),
    )
    return report


async def _approved_rows(db: Database, article_ids: Sequence[int]) -> list[Row]:
    query = (
        select(Article.article_id, Article.pubdate, Article.title, ArticleContent.content)
        .outerjoin(ArticleContent, ArticleContent.article_id == Article.article_id)
        .where(
            Article.article_id.in_(article_ids),
            Article.status == ArticleStatus.APPROVED,
            Article.pubdate.is_not(None),
        )
    )
    async with db.primary_read_session() as session:
        return list((await session.execute(query)).all())


async def _forget(redis: Any, article_ids: Sequence[int], *, keep_counted: set[int]) -> None:
    """Take the articles out of the postings, keyword lists and similar lists they are in.
    Their words stay counted in the document frequencies when they are approved (an edit);
    a withdrawn article's stay too (frequencies are approximate until the next rebuild)."""
    if not article_ids:
        return
    members = [str(a) for a in article_ids]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hmget(keys.ART_TERMS, members)
        pipe.hmget(keys.ART_KEYWORDS, members)
        for aid in article_ids:
            pipe.zrange(keys.similar(aid), 0, -1)
        terms, words, *neighbours = await pipe.execute()
    async with redis.pipeline(transaction=False) as pipe:
        for aid, member, vec, kw, near in zip(
            article_ids, members, terms, words, neighbours, strict=True
        ):
            for term in (vec or "").split():
                pipe.zrem(keys.posting(term), member)
            for term in (kw or "").split():
                pipe.zrem(keys.keyword(term), member)
            for other in near:
                pipe.zrem(keys.similar(int(other)), member)
            pipe.delete(keys.similar(aid))
            pipe.hdel(keys.ART_TERMS, member)
            if aid not in keep_counted:
                pipe.hdel(keys.ART_KEYWORDS, member)
        await pipe.execute()


def queue_similar(pipe: Any, article_id: int, limit: int) -> None:
    """Queue the read of the precomputed neighbours, most similar first (not yet filtered by
    status); the result is a list of ids as bytes."""
    pipe.zrevrange(keys.similar(article_id), 0, limit - 1)


async def index_built(db: Database, redis: Any) -> bool:
    """For readiness: a full similarity build has finished (or there is nothing to index)."""
    if await redis.hget(keys.INDEX_META, "built_at"):
        return True
    return await _approved_count(db) == 0
