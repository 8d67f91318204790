"""Scheduled work of the content domain: the outbox sweep (``content.sync.sweep``), run as
the ``content.sweep`` task that ``toutiao scheduler`` enqueues every half minute."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from redis.exceptions import LockError, RedisError

from toutiao.content import sync
from toutiao.runtime import Runtime

log = logging.getLogger("toutiao.content.tasks")

SWEEP_SECONDS = 30
LOCK_KEY = "lock:content:outbox-sweep"


async def sweep_job(runtime: Runtime) -> int:
    """One sweeper at a time across processes (a redis-py Lock); idempotent anyway."""
    try:
        lock = runtime.store.lock(LOCK_KEY, timeout=120, blocking=False)
        if not await lock.acquire():
            return 0
    except RedisError:
        return await sync.sweep(runtime)  # Redis down: the sweep will fail and count it
    try:
        return await sync.sweep(runtime)
    finally:
        with contextlib.suppress(LockError, RedisError):
            await lock.release()


def schedule_content(  # in-process variant; the scheduler enqueues content.sweep instead
    scheduler: Any, runtime: Runtime
) -> None:
    scheduler.add_job(
        sweep_job,
        "interval",
        args=(runtime,),
        seconds=SWEEP_SECONDS,
        id="content.sweep",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
