"""Redis leases (kit/lease.py): one holder at a time, renewals that keep it, and a holder that
lost its lease never touching the key a successor took."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from toutiao.kit.lease import LeaderLock, Lease
from toutiao.runtime import Runtime

KEY = "test:lease"


class SlowFirstSet:
    """A Redis client whose first SET reply reaches the caller late."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._delayed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)

    async def set(self, *args: Any, **kwargs: Any) -> Any:
        answer = await self._redis.set(*args, **kwargs)
        if not self._delayed:
            self._delayed = True
            await asyncio.sleep(0.05)
        return answer


class TestLease:
    async def test_one_holder_at_a_time(self, runtime: Runtime) -> None:
        first, second = Lease(runtime.store, KEY, 10), Lease(runtime.store, KEY, 10)
        assert await first.acquire_or_renew()
        assert not await second.acquire_or_renew()
        assert await first.acquire_or_renew()  # ours: renewed, not refused
        assert first.held and not second.held
        assert await runtime.store.get(KEY) == first.token
        await first.release()
        assert not first.held and not await runtime.store.exists(KEY)
        assert await second.acquire_or_renew()
        assert await runtime.store.get(KEY) == second.token

    async def test_renewing_keeps_it_past_the_ttl(self, runtime: Runtime) -> None:
        lease, other = Lease(runtime.store, KEY, 0.3), Lease(runtime.store, KEY, 0.3)
        assert await lease.acquire_or_renew()
        for _ in range(6):  # 0.6 s in all, twice the TTL
            await asyncio.sleep(0.1)
            assert await lease.renew()
        assert await runtime.store.get(KEY) == lease.token
        assert 0 < await runtime.store.pttl(KEY) <= 300
        assert not await other.acquire_or_renew()

    async def test_renewal_restores_the_whole_ttl(self, runtime: Runtime) -> None:
        lease = Lease(runtime.store, KEY, 30)
        assert await lease.acquire_or_renew()
        await runtime.store.pexpire(KEY, 1_000)
        assert await lease.acquire_or_renew()
        assert await runtime.store.pttl(KEY) > 20_000

    async def test_concurrent_calls_of_one_holder_agree(self, runtime: Runtime) -> None:
        # The first call's SET is answered late: the second call finds the key set meanwhile
        # and must still recognise it as its holder's own.
        lease = Lease(SlowFirstSet(runtime.store), KEY, 10)
        answers = await asyncio.gather(lease.acquire_or_renew(), lease.acquire_or_renew())
        assert answers == [True, True]

    async def test_a_deleted_lease_is_reported_and_taken_again(self, runtime: Runtime) -> None:
        lease = Lease(runtime.store, KEY, 10)
        assert await lease.acquire_or_renew()
        await runtime.store.delete(KEY)  # Redis flushed, or an operator's DEL
        assert not await lease.renew()
        assert not lease.held
        assert await lease.acquire_or_renew()
        assert await runtime.store.get(KEY) == lease.token

    async def test_an_expired_lease_taken_by_another_stays_theirs(self, runtime: Runtime) -> None:
        lease, other = Lease(runtime.store, KEY, 0.1), Lease(runtime.store, KEY, 10)
        assert await lease.acquire_or_renew()
        await asyncio.sleep(0.25)
        assert await other.acquire_or_renew()
        assert not await lease.renew()
        assert not await lease.acquire_or_renew()
        assert await runtime.store.get(KEY) == other.token
        assert await runtime.store.pttl(KEY) > 5_000  # not shortened to the loser's TTL

    async def test_releasing_a_lost_lease_logs_and_leaves_the_key(
        self, runtime: Runtime, caplog: pytest.LogCaptureFixture
    ) -> None:
        lease = Lease(runtime.store, KEY, 10)
        assert await lease.acquire_or_renew()
        await runtime.store.set(KEY, "someone-else", ex=60)
        with caplog.at_level(logging.WARNING, logger="toutiao.lease"):
            await lease.release()  # does not raise
        assert "lease.lost_before_release" in caplog.text
        assert await runtime.store.get(KEY) == "someone-else"
        assert not lease.held

    async def test_releasing_a_lease_never_taken_is_quiet(
        self, runtime: Runtime, caplog: pytest.LogCaptureFixture
    ) -> None:
        await runtime.store.set(KEY, "someone-else", ex=60)
        lease = Lease(runtime.store, KEY, 10)
        assert not await lease.acquire_or_renew()
        with caplog.at_level(logging.WARNING, logger="toutiao.lease"):
            await lease.release()
            await lease.release()
        assert caplog.records == []
        assert await runtime.store.get(KEY) == "someone-else"

    async def test_the_holders_token_is_the_value(self, runtime: Runtime) -> None:
        lease = Lease(runtime.store, KEY, 10, token="worker-7")
        assert await lease.acquire_or_renew()
        assert await runtime.store.get(KEY) == "worker-7"


class TestHold:
    async def test_renews_while_the_block_runs_and_releases_at_the_end(
        self, runtime: Runtime
    ) -> None:
        lease, other = Lease(runtime.store, KEY, 0.3), Lease(runtime.store, KEY, 0.3)
        async with lease.hold() as held:
            assert held
            await asyncio.sleep(0.8)  # well past the TTL
            assert await runtime.store.get(KEY) == lease.token
            async with other.hold() as other_held:
                assert not other_held
        assert not await runtime.store.exists(KEY)
        assert not lease.held

    async def test_a_block_that_did_not_get_it_leaves_it_alone(self, runtime: Runtime) -> None:
        first, second = Lease(runtime.store, KEY, 10), Lease(runtime.store, KEY, 10)
        async with first.hold() as held:
            assert held
            async with second.hold() as second_held:
                assert not second_held
            assert await runtime.store.get(KEY) == first.token  # still held, still first's
        assert not await runtime.store.exists(KEY)

    async def test_a_stalled_holder_does_not_touch_its_successors_key(
        self, runtime: Runtime, caplog: pytest.LogCaptureFixture
    ) -> None:
        lease, successor = Lease(runtime.store, KEY, 0.3), Lease(runtime.store, KEY, 30)
        with caplog.at_level(logging.WARNING, logger="toutiao.lease"):
            async with lease.hold() as held:
                assert held
                # The process stalls past the TTL (the event loop is blocked): no renewal runs.
                time.sleep(0.4)  # noqa: ASYNC251
                assert await successor.acquire_or_renew()
                await asyncio.sleep(0.3)  # the holder's next renewal finds the key taken
                assert await runtime.store.get(KEY) == successor.token
                assert await runtime.store.pttl(KEY) > 20_000  # not renewed to our TTL
        assert "lease.lost key=test:lease" in caplog.text
        assert await runtime.store.get(KEY) == successor.token  # not deleted at the end


class TestLeaderLock:
    async def test_one_leader_at_a_time(self, runtime: Runtime) -> None:
        first, second = LeaderLock(runtime.store, KEY), LeaderLock(runtime.store, KEY)
        assert await first.acquire_or_renew()
        assert not await second.acquire_or_renew()
        assert await first.acquire_or_renew()  # renewal
        await first.release()
        assert await second.acquire_or_renew()
        await first.release()  # not the holder any more: a no-op
        assert await runtime.store.get(KEY) == second.token

    async def test_an_expired_leader_is_replaced_and_notices(self, runtime: Runtime) -> None:
        first = LeaderLock(runtime.store, KEY, ttl_ms=100)
        second = LeaderLock(runtime.store, KEY, ttl_ms=100)
        assert await first.acquire_or_renew()
        await asyncio.sleep(0.25)
        assert await second.acquire_or_renew()
        assert not await first.acquire_or_renew()
        assert first.held is False

    async def test_a_failed_check_counts_as_not_leading(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        from redis.asyncio import Redis

        down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        lock = LeaderLock(down, KEY)
        try:
            with caplog.at_level(logging.WARNING, logger="toutiao.lease"):
                assert not await lock.acquire_or_renew()
            assert not lock.held
            assert "scheduler.leader_check_failed" in caplog.text
        finally:
            await down.aclose()

    async def test_stop_cancels_the_running_jobs_then_releases(self, runtime: Runtime) -> None:
        lock = LeaderLock(runtime.store, KEY)
        assert await lock.acquire_or_renew()
        job = asyncio.create_task(asyncio.sleep(60))
        lock.running.add(job)
        await lock.stop()
        assert job.cancelled()
        assert not lock.held and not await runtime.store.exists(KEY)
