"""Counter reconciliation jobs.

- ``stats.reconcile`` (leader only, cron, nightly by default): rebuild every counter zset
  from the database (reference-facts §9, with §14.5-7 fixed).
- ``stats.rollup`` (leader only, every 5 minutes): the site statistics of the current and
  the previous hour (mis.md §5, :mod:`toutiao.stats.rollup`).
- ``stats.repair`` (every process, every minute): when an after-commit counter update failed
  in this process (Redis was down), rebuild as soon as Redis answers again, instead of
  leaving the drift until the night.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError

from toutiao.kit.cron import cron_fields
from toutiao.kit.db import Database, after_commit_redis_failure
from toutiao.recommend.tasks import Job, LeaderLock, schedule
from toutiao.stats.rollup import rollup_job
from toutiao.stats.service import rebuild_counters

log = logging.getLogger("toutiao.stats")

_dirty = False


def mark_dirty() -> None:
    """Counters may have missed an update in this process."""
    global _dirty
    _dirty = True


after_commit_redis_failure.append(mark_dirty)


def is_dirty() -> bool:
    return _dirty


async def reconcile_job(db: Database, redis: Any) -> dict[str, int]:
    global _dirty
    async with db.read_session() as session:
        written = await rebuild_counters(session, redis)
    _dirty = False
    log.info("stats.reconciled counters=%d", len(written))
    return written


async def repair_job(db: Database, redis: Any) -> dict[str, int] | None:
    if not _dirty:
        return None
    try:
        await redis.ping()
    except RedisError:
        return None  # still down; try again next minute
    return await reconcile_job(db, redis)


def cron_options(expression: str) -> dict[str, str]:
    """Crontab semantics (0 = Sunday), whatever APScheduler numbers its weekdays."""
    return cron_fields(expression)


def schedule_stats(scheduler: Any, db: Database, redis: Any, *, cron: str) -> LeaderLock:
    leader = schedule(
        scheduler,
        db,
        redis,
        jobs=[
            Job("stats.reconcile", reconcile_job, "cron", cron_options(cron)),
            # mis.md §5.1: the current and the previous hour, every 5 minutes.
            Job("stats.rollup", rollup_job, "interval", {"minutes": 5}, run_at_start=True),
        ],
        leader=LeaderLock(redis, "stats"),
    )
    scheduler.add_job(
        repair_job,
        "interval",
        args=(db, redis),
        minutes=1,
        id="stats.repair",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    return leader
