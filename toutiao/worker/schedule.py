"""What ``toutiao scheduler`` (and ``toutiao serve``) enqueue, and when. The scheduler only
enqueues: the work runs in ``toutiao worker``. One leader among scheduler replicas (a Redis
lock, :class:`toutiao.kit.lease.LeaderLock`) enqueues; the others wait to take over.
"""

from __future__ import annotations

import logging
from typing import Any

from toutiao.kit.db import Database
from toutiao.kit.lease import LeaderLock
from toutiao.recommend import keys
from toutiao.recommend.tasks import Job, schedule
from toutiao.stats.tasks import cron_options

log = logging.getLogger("toutiao.scheduler")

OUTBOX_SECONDS = 5  # how often the leader publishes messages the broker could not take


def _enqueue(runtime: Any, task: str) -> Any:
    async def job(_db: Database, _redis: Any) -> None:
        await runtime.tasks.send(task)
        log.info("scheduler.enqueued task=%s", task)

    return job


def _flush(runtime: Any) -> Any:
    async def job(_db: Database, _redis: Any) -> int:
        return int(await runtime.tasks.flush_outbox())

    return job


def scheduled_jobs(runtime: Any, *, stats_cron: str | None = None) -> list[Job]:
    cron = stats_cron or runtime.settings.STATS_FIX_CRON
    return [
        Job("stats.fix", _enqueue(runtime, "stats.fix"), "cron", cron_options(cron)),
        # mis.md §5.1: the current and the previous hour, every 5 minutes.
        Job(
            "stats.rollup",
            _enqueue(runtime, "stats.rollup"),
            "interval",
            {"minutes": 5},
            run_at_start=True,
        ),
        Job(
            "recommend.similar_refresh",
            _enqueue(runtime, "recommend.similar_refresh"),
            "interval",
            {"minutes": 5},
            run_at_start=True,  # the first run on an empty index is a full build
        ),
        # No scheduled full rebuild: content changes reach the index as they happen
        # (recommend.similar_sync) and the index survives restarts in the storage Redis; a
        # full rebuild is `toutiao reco rebuild`, by hand, after bulk loads.
        Job(
            "search.trim_popular",
            _enqueue(runtime, "search.trim_popular"),
            "interval",
            {"minutes": 10},
        ),
        # Articles whose after-commit settling failed (toutiao.content.sync).
        Job("content.sweep", _enqueue(runtime, "content.sweep"), "interval", {"seconds": 30}),
        Job("tasks.flush_outbox", _flush(runtime), "interval", {"seconds": OUTBOX_SECONDS}),
    ]


def schedule_tasks(scheduler: Any, runtime: Any, *, stats_cron: str | None = None) -> LeaderLock:
    """Register the enqueuing jobs on an APScheduler ``AsyncIOScheduler``; returns the lock."""
    return schedule(
        scheduler,
        runtime.db,
        runtime.store,
        jobs=scheduled_jobs(runtime, stats_cron=stats_cron),
        leader=LeaderLock(runtime.store, keys.lock("task-scheduler")),
    )
