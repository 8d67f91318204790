"""Counter reconciliation jobs.

- ``stats.fix`` (a task: ``toutiao scheduler`` enqueues it, nightly by default, and a worker
  runs :func:`reconcile_job`): rebuild every counter zset from the database.
- ``stats.rollup`` (a task, every 5 minutes): the site statistics of the current and the
  previous hour (mis.md §5, :func:`toutiao.stats.rollup.rollup_job`).
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


def schedule_repair(scheduler: Any, db: Database, redis: Any) -> None:
    """``stats.repair`` every minute in this process (the nightly rebuild is the ``stats.fix``
    task that ``toutiao scheduler`` enqueues)."""
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
