"""Counter reconciliation jobs.

- ``stats.fix`` (a task: ``toutiao scheduler`` enqueues it, nightly by default, and a worker
  runs :func:`reconcile_job`): rebuild every counter zset from the database.
- ``stats.rollup`` (a task, every 5 minutes): the site statistics of the current and the
  previous hour (mis.md §5, :func:`toutiao.stats.rollup.rollup_job`).
- ``stats.repair`` (every process, every minute): when an after-commit counter update failed
  in this process (Redis was down), rebuild as soon as Redis answers again, instead of
  leaving the drift until the night.
- :func:`reconcile_recent` (every process, when the storage Redis changed under it: a
  failover, a restart, a reconnect; see ``kit.redis.RoleWatch``): the new master may lack
  the last counter writes the old one acknowledged (asynchronous replication), and writes
  that failed during the switch were never applied. Every member this process wrote lately
  (``counters.recent``) is recounted from the database at once, and again a few seconds
  later for writes in flight across the switch. Each process recounts what it wrote, so
  together they cover every write; the full rebuild is the fallback when too many members
  were written to remember them all, or when an update was missed longer ago than that.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError

from toutiao.kit.cron import cron_fields
from toutiao.kit.db import Database, after_commit_redis_failure
from toutiao.stats import counters
from toutiao.stats.service import rebuild_counters, reconcile_members

log = logging.getLogger("toutiao.stats")

_dirty = False
_dirty_since = 0.0  # time.monotonic() of the first missed update since the last rebuild


def mark_dirty() -> None:
    """Counters may have missed an update in this process."""
    global _dirty, _dirty_since
    if not _dirty:
        _dirty_since = time.monotonic()
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


async def reconcile_recent(db: Database, redis: Any, reason: str = "") -> int:
    """The storage role changed: recount the members written lately (see the module doc).

    Updates missed longer ago than the members remembered (an outage longer than
    ``counters.RECENT_SECONDS``), or more members than remembered, need the full rebuild.
    """
    global _dirty
    members, dropped = counters.recent.since()
    outage_too_long = _dirty and time.monotonic() - _dirty_since > counters.recent.window
    if dropped or outage_too_long:
        await reconcile_job(db, redis)
        return sum(len(m) for m in members.values())
    missed_before = _dirty
    async with db.primary_read_session() as session:
        done = await reconcile_members(session, redis, members)
    if missed_before:
        _dirty = False  # every member written since the first miss was just recounted
    log.warning("stats.reconciled_after_switch reason=%s members=%d", reason, done)
    return done


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
