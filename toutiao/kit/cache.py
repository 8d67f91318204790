"""Read-through caching on Redis with the protections every cached object needs.

- penetration: a missing row is cached as the ``ABSENT`` marker for a short TTL;
- avalanche: every TTL is ``base + random[0, spread)``;
- breakdown: concurrent misses on one key in this process share one loader (single-flight);
- stale fills: a write replaces the key with a short-lived ``INVALIDATED`` tombstone, and
  fills only ever ``SET NX``; so a reader that loaded the old row before the write committed
  cannot cache it after the write's invalidation (it finds the tombstone and gives up);
- Redis down: reads fall through to the loader, cache writes are skipped, and it is logged;
- lost invalidations: one that failed is kept and retried (:func:`retry_invalidations`, after
  every successful role check of the cache server) and the ones of the last minutes are
  written again when another server takes over (:func:`replay_invalidations`: a promoted
  replica may never have received them), so an edit shows within seconds of Redis answering.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import orjson
from redis.exceptions import RedisError

from toutiao.kit import metrics

log = logging.getLogger("toutiao.cache")

ABSENT = "-1"
INVALIDATED = "-2"
# Long enough to outlast a read that started before the write committed.
TOMBSTONE_SECONDS = 5
T = TypeVar("T")


@dataclass(frozen=True)
class TTL:
    base: int
    spread: int = 600

    def draw(self) -> int:
        return self.base + (random.randrange(self.spread) if self.spread > 0 else 0)


class SingleFlight:
    """One in-flight loader per key; later callers await the first caller's result."""

    def __init__(self) -> None:
        self._calls: dict[str, asyncio.Future[Any]] = {}

    async def do(self, key: str, loader: Callable[[], Awaitable[T]]) -> T:
        existing = self._calls.get(key)
        if existing is not None:
            return cast(T, await asyncio.shield(existing))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[key] = future
        try:
            result = await loader()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._calls[key]


single_flight = SingleFlight()


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def cached_json(
    redis: Any,
    key: str,
    loader: Callable[[], Awaitable[Any | None]],
    *,
    ttl: TTL,
    absent_ttl: TTL,
) -> Any | None:
    """JSON value at ``key``, loading (and caching) it on a miss; None when the row is absent."""
    family = metrics.cache_family(key)
    try:
        raw = await redis.get(key)
    except RedisError:
        metrics.dependency_error("redis", "cache.read")
        log.warning("cache.read_failed key=%s", key, exc_info=True)
        return await loader()
    if raw == INVALIDATED:
        metrics.cache_lookup(family, "redis", misses=1)
        return await loader()  # just written: read the database, leave the key to the tombstone
    if raw is not None:
        metrics.cache_lookup(family, "redis", hits=1)
        return None if raw == ABSENT else orjson.loads(raw)
    metrics.cache_lookup(family, "redis", misses=1)

    async def load_and_fill() -> Any | None:
        value = await loader()
        try:
            if value is None:
                await redis.set(key, ABSENT, ex=absent_ttl.draw(), nx=True)
            else:
                await redis.set(key, dumps(value), ex=ttl.draw(), nx=True)
        except RedisError:
            metrics.dependency_error("redis", "cache.write")
            log.warning("cache.write_failed key=%s", key, exc_info=True)
        return value

    return await single_flight.do(key, load_and_fill)


# Invalidations written again after a failover: those of this long ago, at most this many.
REPLAY_SECONDS = 300.0
MAX_REMEMBERED = 50_000


@dataclass
class _Invalidations:
    """One client's failed invalidations (to retry) and recent ones (to replay)."""

    failed: OrderedDict[str, None] = field(default_factory=OrderedDict)
    done: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def succeeded(self, keys: tuple[str, ...] | list[str]) -> None:
        now = time.monotonic()
        for key in keys:
            self.failed.pop(key, None)
            self.done.pop(key, None)
            self.done[key] = now
        while len(self.done) > MAX_REMEMBERED:
            self.done.popitem(last=False)

    def missed(self, keys: tuple[str, ...] | list[str]) -> None:
        for key in keys:
            self.failed[key] = None
        while len(self.failed) > MAX_REMEMBERED:  # then the TTLs bound the oldest ones
            dropped, _ = self.failed.popitem(last=False)
            log.error("cache.invalidation_dropped key=%s: too many waiting", dropped)

    def recent(self) -> list[str]:
        cutoff = time.monotonic() - REPLAY_SECONDS
        return [k for k, at in self.done.items() if at >= cutoff]


_invalidations: weakref.WeakKeyDictionary[Any, _Invalidations] = weakref.WeakKeyDictionary()


def _state(redis: Any) -> _Invalidations:
    state = _invalidations.get(redis)
    if state is None:
        state = _invalidations[redis] = _Invalidations()
    return state


async def _tombstone(redis: Any, keys: tuple[str, ...] | list[str]) -> None:
    for start in range(0, len(keys), 1000):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys[start : start + 1000]:
                pipe.set(key, INVALIDATED, ex=TOMBSTONE_SECONDS)
            await pipe.execute()


async def invalidate(redis: Any, *keys: str) -> None:
    """Replace cache keys with a tombstone after a write (see the module docstring).

    A failure is logged and the keys are kept for :func:`retry_invalidations`.
    """
    if not keys:
        return
    state = _state(redis)
    try:
        await _tombstone(redis, keys)
    except RedisError:
        metrics.dependency_error("redis", "cache.invalidate")
        log.error("cache.invalidate_failed keys=%s; kept for retry", keys, exc_info=True)
        state.missed(keys)
    else:
        state.succeeded(keys)


def pending_invalidations(redis: Any) -> list[str]:
    state = _invalidations.get(redis)
    return list(state.failed) if state is not None else []


async def retry_invalidations(redis: Any) -> int:
    """Write the tombstones that failed; how many. Raises while Redis still fails."""
    keys = pending_invalidations(redis)
    if keys:
        await _tombstone(redis, keys)
        _state(redis).succeeded(keys)
        log.warning("cache.invalidations_retried keys=%d", len(keys))
    return len(keys)


async def replay_invalidations(redis: Any, reason: str = "") -> int:
    """Another server answers for the cache: write again the tombstones of the last minutes
    (and the failed ones); how many."""
    state = _state(redis)
    keys = list(dict.fromkeys([*state.failed, *state.recent()]))
    if keys:
        await _tombstone(redis, keys)
        state.succeeded(keys)
    log.warning("cache.invalidations_replayed reason=%s keys=%d", reason, len(keys))
    return len(keys)
