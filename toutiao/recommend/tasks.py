"""Scheduled jobs of the recommender, and the leader lock that lets one process run them.

Jobs are plain ``async def job(db, redis)`` functions; :func:`schedule` registers them on an
APScheduler ``AsyncIOScheduler``. Every process may schedule them (``toutiao serve``,
``toutiao rpc``, replicas): a job body runs only where the Redis leader lock is held, so
exactly one process works at a time and another takes over within ``ttl`` if it dies.
Other domains reuse :class:`LeaderLock`, :class:`Job` and :func:`schedule` with their own jobs.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from toutiao.kit.db import Database
from toutiao.recommend import keys
from toutiao.recommend.events import fold_events
from toutiao.recommend.similar import IndexReport, rebuild_similarity, refresh_similarity

log = logging.getLogger("toutiao.recommend.tasks")

# Compare-and-act on our own token only, so an expired leader never touches a successor's lock.
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


class LeaderLock:
    """``SET reco:lock:{name} <token> NX PX ttl``, renewed by the holder every ttl / 3."""

    def __init__(self, redis: Any, name: str = "scheduler", *, ttl_ms: int = 30_000) -> None:
        self.redis = redis
        self.key = keys.lock(name)
        self.ttl_ms = ttl_ms
        self.token = secrets.token_hex(16)
        self.held = False
        self.running: set[asyncio.Task[Any]] = set()  # job bodies in progress

    async def acquire_or_renew(self) -> bool:
        """Take the lock if it is free, extend it if it is ours; the answer comes from Redis,
        so concurrent calls (the renewal job and a job starting) agree."""
        was_held = self.held
        try:
            got = await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms)
            if not got:
                got = await self.redis.eval(_RENEW, 1, self.key, self.token, self.ttl_ms)
            self.held = bool(got)
        except Exception:
            log.warning("scheduler.leader_check_failed lock=%s", self.key, exc_info=True)
            self.held = False
        if self.held != was_held:
            log.info("scheduler.leader lock=%s held=%s", self.key, self.held)
        return self.held

    async def release(self) -> None:
        if self.held:
            self.held = False
            await self.redis.eval(_RELEASE, 1, self.key, self.token)

    async def stop(self) -> None:
        """Cancel the jobs in progress, wait for them, then let another process lead."""
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.release()


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


async def fold_events_job(db: Database, redis: Any) -> int:
    return await fold_events(db, redis)


async def refresh_similarity_job(db: Database, redis: Any) -> IndexReport:
    return await refresh_similarity(db, redis)


async def rebuild_similarity_job(db: Database, redis: Any) -> IndexReport:
    return await rebuild_similarity(db, redis)


# The similar-articles refresh and rebuild are Celery tasks (``toutiao.worker``), enqueued by
# ``toutiao scheduler``; only the event fold stays with the recommender process.
RECOMMEND_JOBS = (Job("recommend.fold_events", fold_events_job, "interval", {"seconds": 10}),)


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
            leader.running.discard(task)  # type: ignore[arg-type]

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
    lock = leader or LeaderLock(redis)
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
