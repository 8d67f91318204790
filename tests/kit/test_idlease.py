"""Worker id leases (kit/idlease.py): processes built from the same settings issue ids
that never collide."""

from __future__ import annotations

import asyncio

from toutiao.kit.idlease import WorkerIdLease, lease_key
from toutiao.kit.ids import MAX_WORKER_ID, Snowflake, parts
from toutiao.runtime import Runtime


def frozen_clock() -> int:
    return 1_800_000_000_000_000_000  # every id in the same millisecond: the collision case


async def test_two_processes_with_the_same_settings_get_distinct_worker_ids(
    runtime: Runtime,
) -> None:
    # Same datacenter and the same provisional worker id, as two gunicorn workers would have.
    first, second = Snowflake(3, 7, clock=frozen_clock), Snowflake(3, 7, clock=frozen_clock)
    assert first.next_id() == second.next_id()  # what happened without a lease
    leases = [WorkerIdLease(runtime.store, s) for s in (first, second)]
    for lease in leases:
        await lease.start()
    try:
        assert {first.worker_id, second.worker_id} == {7, 8}
        issued = [s.next_id() for _ in range(500) for s in (first, second)]
        assert len(set(issued)) == len(issued)
        assert {parts(i).worker_id for i in issued} == {7, 8}
        assert await runtime.store.get(lease_key(3, 7)) is not None
    finally:
        for lease in leases:
            await lease.close()
    assert await runtime.store.exists(lease_key(3, 7), lease_key(3, 8)) == 0  # released


async def test_a_lost_lease_is_claimed_again(runtime: Runtime) -> None:
    snowflake = Snowflake(4, 2)
    lease = WorkerIdLease(runtime.store, snowflake, renew_every=0.05)
    await lease.start()
    try:
        assert lease.held == 2
        # Redis was flushed and another process took the id meanwhile.
        await runtime.store.set(lease_key(4, 2), "someone-else", ex=60)
        for _ in range(100):
            await asyncio.sleep(0.02)
            if lease.held not in (None, 2):
                break
        assert lease.held == snowflake.worker_id == 3
        assert await runtime.store.get(lease_key(4, 3)) == lease.token
    finally:
        await lease.close()
    assert await runtime.store.get(lease_key(4, 2)) == "someone-else"  # not ours: kept


async def test_every_id_taken_keeps_the_provisional_one(runtime: Runtime) -> None:
    for worker in range(MAX_WORKER_ID + 1):
        await runtime.store.set(lease_key(5, worker), "taken", ex=60)
    lease = WorkerIdLease(runtime.store, Snowflake(5, 9))
    await lease.start()
    try:
        assert lease.held is None and lease.snowflake.worker_id == 9
    finally:
        await lease.close()


async def test_without_redis_the_process_still_starts() -> None:
    from redis.asyncio import Redis

    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    lease = WorkerIdLease(down, Snowflake(6, 4))
    await lease.start()
    try:
        assert lease.held is None and lease.snowflake.worker_id == 4
        assert lease.snowflake.next_id() > 0
    finally:
        await lease.close()
        await down.aclose()


async def test_the_runtime_leases_unless_an_id_is_pinned(runtime: Runtime) -> None:
    assert runtime.settings.SNOWFLAKE_WORKER_ID is None
    assert runtime.id_lease is not None
