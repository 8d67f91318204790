"""Scheduled jobs of the recommender, run by one process at a time.

Jobs are plain ``async def job(db, redis)`` functions; :func:`schedule` registers them on an
APScheduler ``AsyncIOScheduler``. Every process may schedule them (``toutiao serve``,
``toutiao rpc``, replicas): a job body runs only where the Redis leader lock
(:class:`toutiao.kit.lease.LeaderLock`) is held, so exactly one process works at a time and
another takes over within ``ttl`` if it dies. Other domains reuse :class:`Job` and
:func:`schedule` with their own jobs and lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from toutiao.kit.db import Database
from toutiao.kit.lease import LeaderLock
from toutiao.recommend import keys
from toutiao.recommend.events import fold_events
from toutiao.recommend.similar import IndexReport, rebuild_similarity, refresh_similarity

log = logging.getLogger("toutiao.recommend.tasks")

JobFunc = Callable[[Database, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunc
    trigger: str  # "interval" or "cron"
    options: dict[str, Any] = field(default_factory=dict)
    run_at_start: bool = False


SIMILAR_SYNC_TASK = "recommend.similar_sync"


async def enqueue_similar_sync(runtime: Any, *article_ids: int) -> None:
    """Bring these articles' similar-articles entries to their current rows, in the task tier
    (:func:`toutiao.recommend.similar.sync_similarity`)."""
    if article_ids:
        await runtime.tasks.send(SIMILAR_SYNC_TASK, list(article_ids))


# The fold runs every second, a few batches at a time: up to 2,000 events a second, in runs
# of about a tenth of a second of CPU. (Every 10 s, 20 batches at a time, it ran for most of a
# second at once and took a core from the API beside it on a 2-core machine: the bench's paced
# latency had its slow seconds exactly then. It also followed readers' clicks 10 s late.)
FOLD_EVERY = 1.0
FOLD_BATCHES = 4  # of events.FOLD_BATCH


async def fold_events_job(db: Database, redis: Any) -> int:
    return await fold_events(db, redis, max_batches=FOLD_BATCHES)


async def refresh_similarity_job(db: Database, redis: Any) -> IndexReport:
    return await refresh_similarity(db, redis)


async def rebuild_similarity_job(db: Database, redis: Any) -> IndexReport:
    return await rebuild_similarity(db, redis)


# The similar-articles refresh and rebuild are Celery tasks (``toutiao.worker``), enqueued by
# ``toutiao scheduler``; only the event fold stays with the recommender process.
RECOMMEND_JOBS = (
    Job("recommend.fold_events", fold_events_job, "interval", {"seconds": FOLD_EVERY}),
)


def leader_only(leader: LeaderLock, job: Job, db: Database, redis: Any) -> Callable[[], Any]:
    async def run() -> None:
        if not await leader.acquire_or_renew():
            return
        task = asyncio.current_task()
        if task is not None:
            leader.running.add(task)
        try:
            await job.func(db, redis)
        except Exception:
            log.exception("scheduler.job_failed job=%s", job.name)
        finally:
            leader.running.discard(task)

    run.__name__ = job.name
    return run


LEADER_JOB = "scheduler.leader"


def schedule(
    scheduler: Any,
    db: Database,
    redis: Any,
    *,
    jobs: Iterable[Job] = RECOMMEND_JOBS,
    leader: LeaderLock | None = None,
) -> LeaderLock:
    """Register ``jobs`` under ``leader`` (default: the ``scheduler`` lock) and return it.

    Each lock gets one renewal job per scheduler, ``scheduler.leader:<key>``; a second call
    with the same lock name reuses the lock object already registered, so domains sharing a
    process and a lock never compete with themselves.
    """
    lock = leader or LeaderLock(redis, keys.lock("scheduler"))
    renewal = f"{LEADER_JOB}:{lock.key}"
    existing = scheduler.get_job(renewal)
    if existing is not None:
        lock = existing.func.__self__
    else:
        scheduler.add_job(
            lock.acquire_or_renew,
            "interval",
            seconds=max(lock.ttl_ms / 3000, 1),
            id=renewal,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now().astimezone(),
        )
    for job in jobs:
        extra = {"next_run_time": datetime.now().astimezone()} if job.run_at_start else {}
        scheduler.add_job(
            leader_only(lock, job, db, redis),
            job.trigger,
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=300,
            replace_existing=True,
            **job.options,
            **extra,
        )
    return lock
