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


# -- per-owner collections: complete in Redis, or "large" and cached per item -------------------
#
# One user's likes, collections or relations live in one key (a hash: item -> value, or a
# zset: item -> score) carrying a marker: COMPLETE (every item of the owner is there, so a
# missing item has none) or LARGE (the owner has more than a cache limit: only the items asked
# for are there, each with its answer, "none" included). A LARGE key remembers that the owner
# is too large, so no request reloads the whole history; items come per item from SQL once per
# key lifetime (bounded: the key expires, and only items someone asked about are added).
#
# Writes after the commit: a COMPLETE (or missing) key is replaced by a whole-key tombstone of
# the same type, as for every cached object; in a LARGE key only the item written gets an item
# tombstone that carries its own expiry (a hash value ``~<epoch s>``, a zset score
# ``-<epoch s>``), so the LARGE marker survives. Fills only create missing keys, and item fills
# only write items that are absent or whose tombstone has expired; so a reader that read the
# database before a write committed can never cache what it read after the write's tombstone.

LARGE = "-3"
HASH = "hash"
ZSET = "zset"
# A zset score at or below this is an item tombstone (minus its expiry, epoch seconds).
ITEM_TOMBSTONE_BELOW = -1_000_000

# KEYS[1]; ARGV[1] kind, ARGV[2] ttl, ARGV[3] marker (COMPLETE or LARGE), ARGV[4..] pairs
# (hash: item, value; zset: score, item). Creates the key only if it is missing.
_FILL_OWNED = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local hash = ARGV[1] == 'hash'
if hash then redis.call('HSET', KEYS[1], ARGV[3], ARGV[3])
else redis.call('ZADD', KEYS[1], 0, ARGV[3]) end
for i = 4, #ARGV, 1000 do
  local j = math.min(i + 999, #ARGV)
  if hash then redis.call('HSET', KEYS[1], unpack(ARGV, i, j))
  else redis.call('ZADD', KEYS[1], unpack(ARGV, i, j)) end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
# KEYS[1]; ARGV[1] kind, ARGV[2..] pairs as in _FILL_OWNED. Adds items to a LARGE key: only
# absent ones, or ones whose item tombstone has expired (by the server's clock, as it was set).
_FILL_ITEMS = """
local hash = ARGV[1] == 'hash'
local now = tonumber(redis.call('TIME')[1])
if hash then
  if redis.call('HEXISTS', KEYS[1], '-3') == 0 then return 0 end
  for i = 2, #ARGV, 2 do
    local cur = redis.call('HGET', KEYS[1], ARGV[i])
    if not cur or (string.sub(cur, 1, 1) == '~' and tonumber(string.sub(cur, 2)) < now) then
      redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    end
  end
else
  if not redis.call('ZSCORE', KEYS[1], '-3') then return 0 end
  for i = 2, #ARGV, 2 do
    local cur = redis.call('ZSCORE', KEYS[1], ARGV[i + 1])
    if not cur or (tonumber(cur) <= -1000000 and -tonumber(cur) < now) then
      redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
    end
  end
end
return 1
"""
# KEYS[1]; ARGV[1] kind, ARGV[2] tombstone seconds, ARGV[3..] the items written. An item
# tombstone expires TOMBSTONE_SECONDS after now by the server's clock. Atomic, so no key is
# ever left without a TTL.
_FORGET_OWNED = """
local hash = ARGV[1] == 'hash'
local large
if hash then large = redis.call('HEXISTS', KEYS[1], '-3') == 1
else large = redis.call('ZSCORE', KEYS[1], '-3') ~= false end
if large and #ARGV > 2 then
  local expiry = tonumber(redis.call('TIME')[1]) + tonumber(ARGV[2])
  for i = 3, #ARGV do
    if hash then redis.call('HSET', KEYS[1], ARGV[i], '~' .. expiry)
    else redis.call('ZADD', KEYS[1], -expiry, ARGV[i]) end
  end
  return 2
end
redis.call('DEL', KEYS[1])
if hash then redis.call('HSET', KEYS[1], '-2', '-2')
else redis.call('ZADD', KEYS[1], 0, '-2') end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class Owned:
    """HIT: complete or every asked item known; PARTIAL: a LARGE key lacking some items; MISS:
    not cached (load and fill); BYPASS: just written or Redis failed (read SQL, fill nothing);
    LARGE (a whole read only): the owner has too many items, ask per item."""

    HIT = "hit"
    PARTIAL = "partial"
    MISS = "miss"
    BYPASS = "bypass"
    LARGE = "large"


@dataclass
class OwnedRead:
    """What one owner's key says about the asked items (``known``: item -> raw value/score;
    an item of a COMPLETE key that is not there maps to None, "has none")."""

    state: str
    known: dict[str, Any]
    unknown: list[str]


def queue_owned_read(pipe: Any, kind: str, key: str, items: list[str]) -> None:
    """One command: the items' values (or scores), then the three markers."""
    fields = [*items, ABSENT, INVALIDATED, LARGE]
    if kind == HASH:
        pipe.hmget(key, fields)
    else:
        pipe.zmscore(key, fields)


def _is_item_tombstone(kind: str, value: Any) -> bool:
    if value is None:
        return False
    if kind == HASH:
        return isinstance(value, str) and value.startswith("~")
    return float(value) <= ITEM_TOMBSTONE_BELOW


def parse_owned(kind: str, raw: Any, items: list[str]) -> OwnedRead:
    """Interpret a :func:`queue_owned_read` result (an exception or a foreign value: BYPASS)."""
    if not isinstance(raw, list) or len(raw) != len(items) + 3:
        return OwnedRead(Owned.BYPASS, {}, list(items))
    *values, complete, tombstone, large = raw
    if tombstone is not None:
        return OwnedRead(Owned.BYPASS, {}, list(items))
    if complete is None and large is None:
        return OwnedRead(Owned.MISS, {}, list(items))
    known: dict[str, Any] = {}
    unknown: list[str] = []
    for item, value in zip(items, values, strict=True):
        if _is_item_tombstone(kind, value) or (value is None and complete is None):
            unknown.append(item)
        else:
            known[item] = value
    return OwnedRead(Owned.PARTIAL if unknown else Owned.HIT, known, unknown)


# KEYS[1]; ARGV[1] kind. The whole key, unless it is LARGE: then only the marker, so a whole
# read costs at most the cache limit, whatever the owner's history.
_READ_WHOLE = """
if ARGV[1] == 'hash' then
  if redis.call('HEXISTS', KEYS[1], '-3') == 1 then return {'-3'} end
  return redis.call('HGETALL', KEYS[1])
end
if redis.call('ZSCORE', KEYS[1], '-3') then return {'-3'} end
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
"""


@dataclass
class OwnedWhole:
    """What a whole read found: ``items`` (item -> raw value/score, markers left out) is
    every item of the owner when HIT; LARGE, MISS and BYPASS carry none."""

    state: str
    items: dict[str, Any]


def queue_owned_read_whole(pipe: Any, kind: str, key: str) -> None:
    """One command: every item of a COMPLETE key (or only the marker of a LARGE one)."""
    pipe.eval(_READ_WHOLE, 1, key, kind)


def parse_owned_whole(raw: Any) -> OwnedWhole:
    """Interpret a :func:`queue_owned_read_whole` result (an exception: BYPASS)."""
    if not isinstance(raw, list):
        return OwnedWhole(Owned.BYPASS, {})
    if raw == [LARGE]:
        return OwnedWhole(Owned.LARGE, {})
    pairs = dict(zip(raw[::2], raw[1::2], strict=True))
    if INVALIDATED in pairs:
        return OwnedWhole(Owned.BYPASS, {})
    if ABSENT not in pairs:
        return OwnedWhole(Owned.MISS, {})
    # (a COMPLETE key holds no item tombstones: a write tombstones it whole)
    return OwnedWhole(Owned.HIT, {k: v for k, v in pairs.items() if k != ABSENT})


def _pairs_args(kind: str, pairs: list[tuple[str, Any]]) -> list[Any]:
    args: list[Any] = []
    for item, value in pairs:
        args += [item, value] if kind == HASH else [repr(float(value)), item]
    return args


async def fill_owned(
    redis: Any, kind: str, key: str, ttl: TTL, pairs: list[tuple[str, Any]], *, large: bool
) -> None:
    """Create the key (COMPLETE with every item, or LARGE with the items known) if missing."""
    marker = LARGE if large else ABSENT
    try:
        await redis.eval(_FILL_OWNED, 1, key, kind, ttl.draw(), marker, *_pairs_args(kind, pairs))
    except RedisError:
        metrics.dependency_error("redis", "cache.write")
        log.warning("cache.fill_failed key=%s", key, exc_info=True)


async def fill_items(redis: Any, kind: str, key: str, pairs: list[tuple[str, Any]]) -> None:
    """Add per-item answers to a LARGE key (see the section comment)."""
    if not pairs:
        return
    try:
        await redis.eval(_FILL_ITEMS, 1, key, kind, *_pairs_args(kind, pairs))
    except RedisError:
        metrics.dependency_error("redis", "cache.write")
        log.warning("cache.fill_failed key=%s", key, exc_info=True)


def queue_forget_owned(pipe: Any, kind: str, key: str, *items: Any) -> None:
    """After a committed write of ``items`` (none: the whole collection changed)."""
    pipe.eval(_FORGET_OWNED, 1, key, kind, TOMBSTONE_SECONDS, *map(str, items))
