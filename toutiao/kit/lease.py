"""Redis leases: a key one holder owns for a while and renews while it works.

Every lease, lock and leader election of the project is built here, on redis-py's ``Lock``
(its ``SET NX PX`` and its token-checked renew and release scripts), so no caller writes its
own. A holder keeps one token for its whole life: renewing or releasing touches the key only
while it still carries that token, so a holder that stalled past its TTL never extends or
deletes the lease a successor took meanwhile.

- :class:`Lease`: ``acquire_or_renew()`` for a holder that calls in periodically (a leader, a
  worker id), ``hold()`` for a block of work that must run alone (renewed in the background).
- :class:`LeaderLock`: leader election among processes scheduling the same jobs; the leader
  renews it, the others keep trying to take it, and ``stop()`` ends the jobs it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError, RedisError

log = logging.getLogger("toutiao.lease")


class Lease:
    """One Redis key, owned while it holds :attr:`token`, for ``ttl`` seconds per renewal.

    Redis errors other than losing the lease propagate; callers decide whether a Redis outage
    stops them. The calls of one ``Lease`` run one at a time, so concurrent callers (a renewal
    job and a job starting) get the same answer.
    """

    def __init__(self, redis: Any, key: str, ttl: float, *, token: str | None = None) -> None:
        self.key = key
        self.ttl = ttl
        self.token = token or secrets.token_hex(16)
        self.held = False  # what Redis answered last
        self._lock = Lock(redis, key, timeout=ttl, blocking=False, thread_local=False)
        self._serial = asyncio.Lock()

    async def acquire_or_renew(self) -> bool:
        """Take the key if it is free, extend it to ``ttl`` if it is ours; False when another
        holder has it."""
        async with self._serial:
            self.held = False
            taken = await self._lock.acquire(blocking=False, token=self.token)
            self.held = bool(taken) or await self._reacquire()
            return self.held

    async def renew(self) -> bool:
        """Extend the key to ``ttl`` if it is still ours; False when it expired or was taken."""
        async with self._serial:
            self.held = await self._reacquire()
            return self.held

    async def release(self) -> None:
        """Delete the key if it is still ours. A lease lost meanwhile is logged, not raised."""
        async with self._serial:
            believed, self.held = self.held, False
            try:
                await self._lock.release()
            except LockNotOwnedError:
                if believed:
                    log.warning("lease.lost_before_release key=%s", self.key)
            except LockError:
                pass  # never taken, or released already

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        """Run the block under the lease: yields whether it was taken; while the block runs it
        is renewed every third of ``ttl``, and it is released at the end."""
        if not await self.acquire_or_renew():
            yield False
            return
        keeper = asyncio.create_task(self._keep(), name=f"lease:{self.key}")
        try:
            yield True
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await self.release()

    async def _reacquire(self) -> bool:
        try:
            await self._lock.reacquire()
        except LockError:  # not ours (expired, taken), or never taken by this holder
            return False
        return True

    async def _keep(self) -> None:
        """Renew until cancelled; a lost lease is reported once and no longer renewed."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                if not await self.renew():
                    log.warning("lease.lost key=%s", self.key)
                    return
            except (RedisError, OSError):
                log.warning("lease.renew_failed key=%s", self.key, exc_info=True)


class LeaderLock:
    """The leader of the processes scheduling the same jobs: whoever holds ``key``.

    Every process calls :meth:`acquire_or_renew` every ``ttl / 3`` and before each job; a job
    body runs only where it answers True, and registers its task in :attr:`running` so
    :meth:`stop` can end it before the lock is let go.
    """

    def __init__(self, redis: Any, key: str, *, ttl_ms: int = 30_000) -> None:
        self.key = key
        self.ttl_ms = ttl_ms
        self.lease = Lease(redis, key, ttl_ms / 1000)
        self.running: set[asyncio.Task[Any]] = set()  # job bodies in progress

    @property
    def held(self) -> bool:
        return self.lease.held

    @property
    def token(self) -> str:
        return self.lease.token

    async def acquire_or_renew(self) -> bool:
        """Whether this process leads now; any failure to ask Redis counts as not leading."""
        was_held = self.held
        try:
            held = await self.lease.acquire_or_renew()
        except Exception:
            log.warning("scheduler.leader_check_failed lock=%s", self.key, exc_info=True)
            held = False
        if held != was_held:
            log.info("scheduler.leader lock=%s held=%s", self.key, held)
        return held

    async def release(self) -> None:
        await self.lease.release()

    async def stop(self) -> None:
        """Cancel the jobs in progress, wait for them, then let another process lead."""
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.release()
