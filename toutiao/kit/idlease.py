"""A Snowflake worker id per process, leased in Redis.

Every process built from the same settings (gunicorn's workers, ``toutiao api --workers``,
the IM and rpc processes) would otherwise share one datacenter/worker pair, and two of them
writing in the same millisecond with the same sequence number would issue the same id. At
start a process claims a free worker id of its datacenter (``SET NX EX``) and renews the
claim every ``renew_every`` seconds; a claim that was lost (the process stalled past the
lease, Redis was flushed) is claimed again, under another id if that one was taken since.
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

log = logging.getLogger("toutiao.ids")

LEASE_TTL = 60
RENEW_EVERY = 15.0

# Extend the lease only if it is still ours; 0 when it is gone or someone else's.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


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
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._claim()
        self._task = asyncio.create_task(self._keep(), name="snowflake-lease")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.held is not None:
            with contextlib.suppress(RedisError, OSError):
                await self.redis.eval(_RELEASE, 1, self._key(self.held), self.token)
            self.held = None

    def _key(self, worker_id: int) -> str:
        return lease_key(self.snowflake.datacenter_id, worker_id)

    async def _claim(self) -> None:
        """Take the first free id, starting from the current one (so a renewal that only
        lapsed gets its own id back)."""
        first = self.snowflake.worker_id
        count = MAX_WORKER_ID + 1
        try:
            for step in range(count):
                candidate = (first + step) % count
                if await self.redis.set(self._key(candidate), self.token, nx=True, ex=self.ttl):
                    self.held = candidate
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
                if self.held is not None:
                    kept = await self.redis.eval(
                        _RENEW, 1, self._key(self.held), self.token, self.ttl
                    )
                    if kept:
                        continue
                    log.warning("snowflake.lease_lost worker_id=%s; claiming again", self.held)
                    self.held = None
                await self._claim()
            except (RedisError, OSError) as exc:
                log.warning("snowflake.lease_renew_failed: %s", exc)
