"""Refilling readers' wait queues ahead of need, in the recommender's process.

The API serves fresh batches from a reader's queue by itself (``serving.py``) and, when it
leaves fewer than ``waiting.REFILL_BELOW`` batches there, pushes a request onto
``keys.REFILL`` in the pipeline that records the batch. Every recommender process runs
:func:`run_refills`: it pops requests in chunks, newest first (each is taken by one
process), drops duplicates and tops each queue up (``Recommender.refill``), so the reader's
next pulls find it full and need no call to the recommender.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from redis.exceptions import RedisError

from toutiao.kit import pace
from toutiao.recommend import keys
from toutiao.recommend.waiting import RefillRequest, parse_refill_request

log = logging.getLogger("toutiao.recommend.refill")

CHUNK = 50
# Refills run this many at a time: each waits on Redis and the database most of its time, and
# one at a time they fell behind a busy API (its readers' queues ran dry and their batches
# were ranked inline, through the recommender's gRPC call).
CONCURRENCY = 4
IDLE_SLEEP = 0.05  # seconds between polls of an empty request list
ERROR_SLEEP = 1.0


class Refiller(Protocol):
    async def refill(self, uid: str, channel_id: int, count: int) -> int: ...


async def refill_pending(
    recommender: Refiller,
    redis: Any,
    *,
    chunk: int = CHUNK,
    concurrency: int = CONCURRENCY,
    pacer: pace.CpuPacer = pace.background,
) -> int:
    """Serve up to ``chunk`` pending requests, ``concurrency`` at a time, started newest first
    and paced (a chunk of refills is a burst of CPU: ``pacer`` leaves the API its share);
    returns how many were popped."""
    # Newest first: the reader behind a new request is pulling now, while the reader behind an
    # old one has asked again since or gone. Oldest first, a backlog left by a load delayed a
    # new reader's first refill until its feed fell back to the local recall. Past
    # REFILL_MAX the oldest requests are dropped.
    raws = await redis.lpop(keys.REFILL, chunk) or []
    wanted = dict.fromkeys(r for r in map(parse_refill_request, raws) if r is not None)
    # one request per reader's queue: the chunk holds each once (duplicates dropped above)
    slots = asyncio.Semaphore(max(concurrency, 1))  # waiters are let in in arrival order
    await asyncio.gather(*(_one(recommender, request, slots, pacer) for request in wanted))
    return len(raws)


async def _one(
    recommender: Refiller, request: RefillRequest, slots: asyncio.Semaphore, pacer: pace.CpuPacer
) -> None:
    async with slots:
        await pacer.turn()
        try:
            await recommender.refill(request.uid, request.channel_id, request.count)
        except Exception:  # one reader's failure must not stop the others' refills
            log.warning("recommend.refill_failed channel=%s", request.channel_id, exc_info=True)


async def run_refills(
    recommender: Refiller, redis: Any, stop: asyncio.Event, *, idle: float = IDLE_SLEEP
) -> None:
    """Until ``stop`` is set: pop and serve refill requests (a refill under way finishes, so
    no database session or Redis reply is cut off)."""
    while not stop.is_set():
        pause = 0.0
        try:
            popped = await refill_pending(recommender, redis)
            pause = 0.0 if popped else idle
        except RedisError:
            log.warning("recommend.refill_redis_unavailable", exc_info=True)
            pause = ERROR_SLEEP
        if pause:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
