"""The index queue: article changes reach the search index in the background.

Writers (mp when an author edits or withdraws, mis when staff approve, ban or delete) push
``{"op": "index" | "remove", "article_id": ...}`` onto the Redis list ``search:queue``
after their commit (:func:`index_after_commit`), so a slow or absent search engine never
slows a request. :func:`run_index_worker` drains it in batches in one process at a time
(a leader lock): items move atomically to a processing list first, which is emptied only
once the batch is in the index, so a crash or an engine outage loses nothing; the next
leader retries that list before taking new items. "index" re-reads the article, so any
number of repeats, in any order, ends in the database's current state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.db import on_commit
from toutiao.recommend.tasks import LeaderLock
from toutiao.runtime import Runtime
from toutiao.search import indexer
from toutiao.search.service import engine_of, trim_popular

log = logging.getLogger("toutiao.search.tasks")

QUEUE_KEY = "search:queue"
# The {search:queue} hash tag puts both lists in one Redis Cluster slot (LMOVE needs that).
PROCESSING_KEY = "search:queue:processing:{search:queue}"
BATCH = 200
IDLE_WAIT = 1.0  # seconds a BLMOVE waits; below the client's socket timeout
MAX_BACKOFF = 60.0
TRIM_EVERY = 600.0  # seconds between trims of the popular queries


def _item(op: str, article_id: int) -> str:
    return orjson.dumps({"op": op, "article_id": article_id}).decode()


async def enqueue_index(runtime: Runtime, *article_ids: int) -> None:
    """(Re)index these articles: approved ones enter or change, any other leaves."""
    if article_ids:
        await runtime.store.lpush(QUEUE_KEY, *(_item("index", a) for a in article_ids))


async def enqueue_remove(runtime: Runtime, *article_ids: int) -> None:
    """Take these articles out of the index (deleted)."""
    if article_ids:
        await runtime.store.lpush(QUEUE_KEY, *(_item("remove", a) for a in article_ids))


def index_after_commit(session: AsyncSession, runtime: Runtime, *article_ids: int) -> None:
    """For services: enqueue once the transaction commits, never if it rolls back."""
    on_commit(session, lambda: enqueue_index(runtime, *article_ids))


def remove_after_commit(session: AsyncSession, runtime: Runtime, *article_ids: int) -> None:
    on_commit(session, lambda: enqueue_remove(runtime, *article_ids))


async def _take(store: Any, batch: int, block: float) -> list[str]:
    """Leftovers of an interrupted batch first; else up to ``batch`` new items (waiting up to
    ``block`` seconds for the first). Newest first, as the processing list holds them."""
    items: list[str] = await store.lrange(PROCESSING_KEY, 0, -1)
    if items:
        return items
    moved: list[str] = []
    if block > 0:
        first = await store.blmove(QUEUE_KEY, PROCESSING_KEY, block, "RIGHT", "LEFT")
        if first is None:
            return []
        moved.append(first)
    async with store.pipeline(transaction=False) as pipe:
        for _ in range(batch - len(moved)):
            pipe.lmove(QUEUE_KEY, PROCESSING_KEY, "RIGHT", "LEFT")
        moved.extend(i for i in await pipe.execute() if i is not None)
    return moved[::-1]


def _latest_ops(items: list[str]) -> dict[int, str]:
    """The processing list holds the oldest item last: read backwards, the last op wins."""
    ops: dict[int, str] = {}
    for raw in reversed(items):
        try:
            item = orjson.loads(raw)
            article_id, op = int(item["article_id"]), str(item["op"])
        except (ValueError, KeyError, TypeError):
            log.error("search.queue_item_dropped item=%r", raw[:200])
            continue
        if op in ("index", "remove"):
            ops.pop(article_id, None)
            ops[article_id] = op
    return ops


async def drain_once(runtime: Runtime, *, batch: int = BATCH, block: float = 0.0) -> int:
    """Apply one batch of the queue to the index; how many items it held (0: queue empty).

    On failure the batch stays in the processing list and the error propagates."""
    store = runtime.store
    items = await _take(store, batch, block)
    if not items:
        return 0
    ops = _latest_ops(items)
    await indexer.sync_articles(runtime, [a for a, op in ops.items() if op == "index"])
    removals = [a for a, op in ops.items() if op == "remove"]
    if removals:
        await engine_of(runtime).delete(removals)
    await store.delete(PROCESSING_KEY)
    log.debug("search.queue_applied items=%d articles=%d", len(items), len(ops))
    return len(items)


async def _pause(stop_event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop_event.wait(), seconds)


async def run_index_worker(
    runtime: Runtime,
    stop_event: asyncio.Event,
    *,
    batch: int = BATCH,
    idle_wait: float = IDLE_WAIT,
) -> None:
    """Drain the queue until ``stop_event`` is set (``toutiao serve`` runs one per process;
    only the holder of the leader lock works). Failures back off up to a minute, never stop it."""
    lock = LeaderLock(runtime.store, "search-indexer")
    backoff = 1.0
    trimmed_at = 0.0
    try:
        while not stop_event.is_set():
            try:
                if not await lock.acquire_or_renew():
                    await _pause(stop_event, 5.0)
                    continue
                await drain_once(runtime, batch=batch, block=idle_wait)
                if time.monotonic() - trimmed_at > TRIM_EVERY:
                    trimmed_at = time.monotonic()
                    await trim_popular(runtime.store)
                backoff = 1.0
            except Exception:  # the worker outlives any failure; the batch waits for it
                log.warning("search.worker_failed retry_in=%.0fs", backoff, exc_info=True)
                await _pause(stop_event, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
    finally:
        with contextlib.suppress(Exception):
            await lock.release()
