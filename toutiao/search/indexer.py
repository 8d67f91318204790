"""Search documents from the database: a few articles (the index worker) or all (reindex).

Only approved articles become documents; any other id given to :func:`sync_articles` is
removed from the index, so "index this article" is always safe to repeat.

``reindex`` walks approved articles by id (keyset paging, one short read session per batch,
the next batch read while the engine indexes this one), so memory stays flat for a million
articles. After each batch a checkpoint file records the last id; ``resume`` continues from
it. Documents are stamped with the time they were written: when the walk ends, whatever
was last written before it started (articles no longer approved) is purged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article.cards import article_counts_from_db
from toutiao.engines.search import SearchDoc, SearchEngine
from toutiao.kit.text import plain_text
from toutiao.models import Article, ArticleContent, Channel, User
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime
from toutiao.search.service import engine_of
from toutiao.stats import counters as c
from toutiao.user.names import public_name

log = logging.getLogger("toutiao.search.indexer")

MAX_HTML_CHARS = 60_000  # read at most this much of a body from the database
MAX_TEXT_CHARS = 20_000  # and index at most this much of its text
CHUNK_CHARS = 1_000_000  # text handed to the engine per call: bounds segmentation memory
COUNTS = (c.ARTICLE_COMMENTS, c.ARTICLE_LIKES, c.ARTICLE_COLLECTS)


def _documents_query() -> Select[Any]:
    return (
        select(
            Article.article_id,
            Article.title,
            Article.user_id,
            Article.channel_id,
            func.coalesce(Article.pubdate, Article.create_time),
            User.user_name,
            User.mobile,
            Channel.channel_name,
            func.substr(ArticleContent.content, 1, MAX_HTML_CHARS),
        )
        .outerjoin(User, User.user_id == Article.user_id)
        .outerjoin(Channel, Channel.channel_id == Article.channel_id)
        .outerjoin(ArticleContent, ArticleContent.article_id == Article.article_id)
        .where(Article.status == ArticleStatus.APPROVED)
    )


async def approved_titles(session: AsyncSession) -> list[tuple[int, str]]:
    """``(article_id, title)`` of every approved article (what the index should hold)."""
    query = select(Article.article_id, Article.title).where(
        Article.status == ArticleStatus.APPROVED
    )
    return [(int(i), t) for i, t in (await session.execute(query.order_by(Article.article_id)))]


async def _counts(runtime: Runtime, session: AsyncSession, ids: list[int]) -> dict[int, list[int]]:
    """Live counters, one ZMSCORE per counter for the whole batch; SQL if Redis is down."""
    try:
        async with runtime.store.pipeline(transaction=False) as pipe:
            for counter in COUNTS:
                pipe.zmscore(counter.key, ids)
            scores = await pipe.execute()
    except RedisError:
        found = await article_counts_from_db(session, ids)
        return {i: [found.get(i, {}).get(counter.key, 0) for counter in COUNTS] for i in ids}
    return {i: [int(per[n] or 0) for per in scores] for n, i in enumerate(ids)}


async def load_documents(
    runtime: Runtime, session: AsyncSession, query: Select[Any]
) -> list[SearchDoc]:
    rows = (await session.execute(query)).all()
    counts = await _counts(runtime, session, [row[0] for row in rows]) if rows else {}
    return [
        SearchDoc(
            article_id=article_id,
            title=title,
            content=plain_text(html or "")[:MAX_TEXT_CHARS],
            author_id=author_id,
            author_name=public_name(author_id, author_name, mobile),
            channel_id=channel_id,
            channel_name=channel_name or "",
            pubdate=pubdate,
            comm_count=counts[article_id][0],
            like_count=counts[article_id][1],
            collect_count=counts[article_id][2],
        )
        for (
            article_id,
            title,
            author_id,
            channel_id,
            pubdate,
            author_name,
            mobile,
            channel_name,
            html,
        ) in rows
    ]


def chunks(docs: Sequence[SearchDoc]) -> Iterator[Sequence[SearchDoc]]:
    start, size = 0, 0
    for end, doc in enumerate(docs):
        size += len(doc.content)
        if size > CHUNK_CHARS and end > start:
            yield docs[start:end]
            start, size = end, len(doc.content)
    if start < len(docs):
        yield docs[start:]


async def sync_articles(runtime: Runtime, ids: Sequence[int]) -> tuple[int, int]:
    """Index the approved articles among ``ids`` and remove the others: ``(indexed, removed)``."""
    if not ids:
        return 0, 0
    engine = engine_of(runtime)
    async with runtime.db.read_session() as session:
        query = _documents_query().where(Article.article_id.in_(list(ids)))
        docs = await load_documents(runtime, session, query)
    found = {d.article_id for d in docs}
    gone = [i for i in dict.fromkeys(ids) if i not in found]
    for chunk in chunks(docs):
        await engine.index(chunk)
    if gone:
        await engine.delete(gone)
    return len(docs), len(gone)


# -- reindex ------------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    engine: str
    index: str
    started_at_ms: int
    last_id: int = 0
    indexed: int = 0


@dataclass
class ReindexReport:
    indexed: int
    total: int
    resumed_from: int | None
    elapsed: float

    @property
    def per_second(self) -> float:
        return self.indexed / self.elapsed if self.elapsed else 0.0


def checkpoint_path(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "search-reindex.json"


def _read_checkpoint(path: Path, engine: str, index: str) -> Checkpoint | None:
    try:
        state = Checkpoint(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return state if (state.engine, state.index) == (engine, index) else None


def _write_checkpoint(path: Path, state: Checkpoint) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(state)))
    os.replace(temp, path)  # a crash never leaves half a checkpoint


async def _batches(runtime: Runtime, after_id: int, size: int) -> AsyncIterator[list[SearchDoc]]:
    """Approved articles with ids above ``after_id``, by id; the next batch is read while the
    caller works on this one."""

    async def read(after: int) -> list[SearchDoc]:
        query = _documents_query().where(Article.article_id > after)
        query = query.order_by(Article.article_id).limit(size)
        async with runtime.db.read_session() as session:
            return await load_documents(runtime, session, query)

    pending = asyncio.ensure_future(read(after_id))
    try:
        while batch := await pending:
            pending = asyncio.ensure_future(read(batch[-1].article_id))
            yield batch
    finally:
        pending.cancel()
        with contextlib.suppress(BaseException):
            await pending


async def _approved(runtime: Runtime, after_id: int = 0) -> int:
    query = select(func.count()).where(
        Article.status == ArticleStatus.APPROVED, Article.article_id > after_id
    )
    async with runtime.db.read_session() as session:
        return int(await session.scalar(query) or 0)


async def reindex(
    runtime: Runtime,
    *,
    batch: int = 500,
    resume: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    checkpoint: Path | None = None,
) -> ReindexReport:
    """Index every approved article, then purge the documents this run did not write.

    ``progress(done, total)`` is called after each batch. ``workers``: processes that segment
    text for the embedded engine (default: one per CPU).
    """
    started = time.perf_counter()
    engine: SearchEngine = engine_of(runtime)
    index_name = runtime.settings.SEARCH_INDEX
    path = checkpoint or checkpoint_path(runtime)
    state = _read_checkpoint(path, engine.name, index_name) if resume else None
    resumed_from = state.last_id if state else None
    if state is None:
        state = Checkpoint(engine.name, index_name, started_at_ms=int(time.time() * 1000))
    set_workers = getattr(engine, "set_workers", None)
    if set_workers is not None:
        set_workers(workers if workers is not None else (os.cpu_count() or 1))
    total = await _approved(runtime)
    done = total - await _approved(runtime, state.last_id)
    indexed_now = 0
    async for docs in _batches(runtime, state.last_id, batch):
        for chunk in chunks(docs):
            await engine.index(chunk, refresh=False)
        state.last_id, state.indexed = docs[-1].article_id, state.indexed + len(docs)
        _write_checkpoint(path, state)
        indexed_now += len(docs)
        done += len(docs)
        if progress is not None:
            progress(done, total)
    await engine.purge(state.started_at_ms)
    path.unlink(missing_ok=True)
    log.info("search.reindexed engine=%s documents=%d", engine.name, state.indexed)
    return ReindexReport(indexed_now, total, resumed_from, time.perf_counter() - started)


async def ensure_indexed(runtime: Runtime) -> ReindexReport | None:
    """A full reindex when the index is empty but approved articles exist (a first start on
    existing data, a new index version); ``toutiao serve`` may run it in the background."""
    if await engine_of(runtime).count() or not await _approved(runtime):
        return None
    return await reindex(runtime, workers=0)


@dataclass(frozen=True)
class IndexState:
    up: bool
    documents: int
    approved: int

    @property
    def built(self) -> bool:
        """The index holds (nearly) every approved article: a first build has finished.

        A small lag is normal while new approvals wait in the index queue."""
        return self.up and self.documents >= self.approved * BUILT_SHARE


BUILT_SHARE = 0.95


async def index_state(runtime: Runtime) -> IndexState:
    """For readiness: is the engine answering, and does its index hold the approved articles."""
    engine = engine_of(runtime)
    approved = await _approved(runtime)
    if not await engine.ping():
        return IndexState(False, 0, approved)
    return IndexState(True, await engine.count(), approved)
