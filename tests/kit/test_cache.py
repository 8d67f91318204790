"""Read-through cache protections: absent markers, jitter, single-flight, tombstones, Redis down."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from toutiao.kit import cache as kit_cache
from toutiao.kit.cache import (
    ABSENT,
    INVALIDATED,
    TTL,
    cached_json,
    invalidate,
    pending_invalidations,
    replay_invalidations,
    retry_invalidations,
)

TTL_A, TTL_ABSENT = TTL(100, 50), TTL(10, 5)


async def test_fills_absent_marker_and_jitter(runtime):
    cache = runtime.cache
    calls = []

    async def load():
        calls.append(1)
        return None

    assert await cached_json(cache, "k:none", load, ttl=TTL_A, absent_ttl=TTL_ABSENT) is None
    assert await cached_json(cache, "k:none", load, ttl=TTL_A, absent_ttl=TTL_ABSENT) is None
    assert calls == [1]  # the marker answered the second read
    assert await cache.get("k:none") == ABSENT
    assert 10 <= await cache.ttl("k:none") < 15
    ttls = set()
    for n in range(20):

        async def value(n: int = n) -> dict[str, int]:
            return {"n": n}

        await cached_json(cache, f"k:{n}", value, ttl=TTL_A, absent_ttl=TTL_ABSENT)
        ttls.add(await cache.ttl(f"k:{n}"))
    assert all(100 <= t < 150 for t in ttls) and len(ttls) > 1


async def test_single_flight(runtime):
    calls = []

    async def slow():
        calls.append(1)
        # Long enough for every caller's GET to come back before the first load ends (a GET
        # answered after the fill finished would rightly start a load of its own).
        await asyncio.sleep(0.5)
        return {"v": 1}

    results = await asyncio.gather(
        *(
            cached_json(runtime.cache, "k:hot", slow, ttl=TTL_A, absent_ttl=TTL_ABSENT)
            for _ in range(20)
        )
    )
    assert results == [{"v": 1}] * 20 and calls == [1]


async def test_a_fill_after_invalidation_does_not_cache_stale_data(runtime):
    cache = runtime.cache
    gate = asyncio.Event()

    async def old_value():
        await gate.wait()  # the write commits and invalidates while this read is loading
        return {"v": "old"}

    reader = asyncio.create_task(
        cached_json(cache, "k:race", old_value, ttl=TTL_A, absent_ttl=TTL_ABSENT)
    )
    await asyncio.sleep(0)
    await invalidate(cache, "k:race")
    gate.set()
    assert await reader == {"v": "old"}  # this reader answers with what it read...
    assert await cache.get("k:race") == INVALIDATED  # ...but does not cache it

    async def new_value():
        return {"v": "new"}

    assert await cached_json(cache, "k:race", new_value, ttl=TTL_A, absent_ttl=TTL_ABSENT) == {
        "v": "new"
    }


async def test_redis_down_reads_the_loader():
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)  # nothing listens there

    async def load():
        return {"from": "db"}

    try:
        assert await cached_json(down, "k", load, ttl=TTL_A, absent_ttl=TTL_ABSENT) == {
            "from": "db"
        }
        await invalidate(down, "k")  # logged, not raised
    finally:
        await down.aclose()


async def test_a_failed_invalidation_is_retried_once_redis_answers(runtime) -> None:
    dead = Redis(port=1, socket_connect_timeout=0.2)  # nothing listens there
    try:
        await invalidate(dead, "k:1", "k:2")
        assert pending_invalidations(dead) == ["k:1", "k:2"]
    finally:
        await dead.aclose()
    cache = runtime.cache
    await cache.set("k:1", "stale")
    await invalidate(cache, "k:0")
    kit_cache._state(cache).missed(["k:1"])  # as if the first try had failed
    assert await retry_invalidations(cache) == 1
    assert await cache.get("k:1") == INVALIDATED
    assert pending_invalidations(cache) == []
    await cache.set("k:0", "stale on the promoted replica")
    assert await replay_invalidations(cache, "test") >= 2
    assert await cache.get("k:0") == INVALIDATED
