"""A Snowflake worker id per process, leased in Redis.

Every process built from the same settings (gunicorn's workers, ``toutiao api --workers``,
the IM and rpc processes) would otherwise share one datacenter/worker pair, and two of them
writing in the same millisecond with the same sequence number would issue the same id. At
start a process claims a free worker id of its datacenter (a :class:`toutiao.kit.lease.Lease`
on ``ids:worker:{dc}:{id}``) and renews the claim every ``renew_every`` seconds; a claim that
was lost (the process stalled past the lease, Redis was flushed) is claimed again, under
another id if that one was taken since.
Without Redis the process keeps a provisional id derived from its pid and keeps trying.

Set ``TOUTIAO_SNOWFLAKE_WORKER_ID`` to pin an id instead (then no lease is taken).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from redis.exceptions import RedisError

from toutiao.kit.ids import MAX_WORKER_ID, Snowflake
from toutiao.kit.lease import Lease

log = logging.getLogger("toutiao.ids")

LEASE_TTL = 60
RENEW_EVERY = 15.0


def lease_key(datacenter_id: int, worker_id: int) -> str:
    return f"ids:worker:{datacenter_id}:{worker_id}"


class WorkerIdLease:
    def __init__(
        self,
        redis: Any,
        snowflake: Snowflake,
        *,
        ttl: int = LEASE_TTL,
        renew_every: float = RENEW_EVERY,
    ) -> None:
        self.redis = redis
        self.snowflake = snowflake
        self.ttl = ttl
        self.renew_every = renew_every
        self.token = secrets.token_hex(8)
        self.held: int | None = None  # the worker id leased, None while none is
        self._lease: Lease | None = None  # the lease of ``held``
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._claim()
        self._task = asyncio.create_task(self._keep(), name="snowflake-lease")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._lease is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._lease.release()
        self.held, self._lease = None, None

    def _lease_of(self, worker_id: int) -> Lease:
        key = lease_key(self.snowflake.datacenter_id, worker_id)
        return Lease(self.redis, key, self.ttl, token=self.token)

    async def _claim(self) -> None:
        """Take the first free id, starting from the current one (so a renewal that only
        lapsed gets its own id back)."""
        first = self.snowflake.worker_id
        count = MAX_WORKER_ID + 1
        try:
            for step in range(count):
                candidate = (first + step) % count
                lease = self._lease_of(candidate)
                if await lease.acquire_or_renew():
                    self.held, self._lease = candidate, lease
                    if candidate != self.snowflake.worker_id:
                        self.snowflake.rebind(candidate)
                    log.info("snowflake.leased worker_id=%s", candidate)
                    return
        except (RedisError, OSError) as exc:
            log.warning("snowflake.lease_unavailable: %s; worker id %s for now", exc, first)
            return
        log.error(
            "snowflake.no_free_worker_id: all %d ids of datacenter %d are leased; give this "
            "process another TOUTIAO_SNOWFLAKE_DATACENTER_ID",
            count,
            self.snowflake.datacenter_id,
        )

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                if self._lease is not None:
                    if await self._lease.renew():
                        continue
                    log.warning("snowflake.lease_lost worker_id=%s; claiming again", self.held)
                    self.held, self._lease = None, None
                await self._claim()
            except (RedisError, OSError) as exc:
                log.warning("snowflake.lease_renew_failed: %s", exc)
