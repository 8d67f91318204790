"""Moving readers' keys from their untagged names (``reco:user:<uid>:...``) to the tagged ones
``keys.py`` makes (``reco:user:{<uid>}:...``, one cluster slot per reader).

What moves, value and TTL: interest profiles (and their decay stamps), positives, shown
history, replay history, the bootstrap marker. What is dropped: the ten-minute caches (wait
queues, cached exclusions) and the exclusions version. A version restarts at zero under its
new name while a cached copy or a queue's checked tag carried over could name the same number
from before a change, and serve what the reader has since disliked; rebuilt instead, they
cost one recall.

A key is copied with DUMP + RESTORE (the old and the new name are in different slots: RENAME
and COPY cannot cross slots on a cluster), then the old key is deleted. RESTORE without
REPLACE never overwrites: when the new name exists already (the reader was served after the
upgrade), a sorted set is merged into it (each member's higher score: the later time, the
larger weight) through a copy beside it in its slot, and a string keeps its new value. Every
step can run again: a run stopped anywhere is resumed by running it again (what was moved is
no longer under an old name; a copy moved but not yet deleted merges into itself).

Runs: ``toutiao reco migrate-keys`` (any time, e.g. again after the last process of the old
version stopped), and once automatically when a recommender process starts (``rpc.main``):
one process at a time (a Redis lock), and no more after a complete run (a marker key).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import LockError, ResponseError

from toutiao.recommend import keys

log = logging.getLogger("toutiao.recommend.rekey")

MARKER = keys.READER_TAGS_MIGRATED  # set once a complete run is over
LOCK_NAME = "reader-tags"
LOCK_SECONDS = 60  # renewed after every batch
BATCH = 500
STAGING_MS = 3_600_000  # a copy waiting to be merged; left behind only by a crash

OLD_MATCH = keys.USER_PREFIX + "[^{]*"  # untagged: the id never starts with a brace
_OLD = re.compile(
    re.escape(keys.USER_PREFIX)
    + r"(?P<part>[^{].*?):(?P<suffix>interest|interest:at|pos|shown|boot|\d+:his"
    + r"|excl|excl:v|\d+:wait)"
)
_ZSETS = ("interest", "pos", "shown", "his")
_DROPPED = ("excl", "excl:v", "wait")

# KEYS[1] the new-named sorted set, KEYS[2] the old one's copy beside it (same slot); ARGV[1]
# the old key's TTL in ms (0: none). Each member keeps its higher score; the result lives as
# long as the longer-lived of the two. Not a sorted set on either side: the copy is dropped.
_MERGE = """
if redis.call('TYPE', KEYS[1]).ok ~= 'zset' or redis.call('TYPE', KEYS[2]).ok ~= 'zset' then
  redis.call('DEL', KEYS[2])
  return 0
end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('ZUNIONSTORE', KEYS[1], 2, KEYS[1], KEYS[2], 'AGGREGATE', 'MAX')
redis.call('DEL', KEYS[2])
local old = tonumber(ARGV[1])
if ttl > 0 and old > 0 then redis.call('PEXPIRE', KEYS[1], math.max(ttl, old)) end
return 1
"""


@dataclass(frozen=True)
class OldKey:
    name: str
    new: str
    kind: str  # the name's end without a channel id: "interest", "excl:v", "his", ...

    @property
    def dropped(self) -> bool:
        return self.kind in _DROPPED

    @property
    def zset(self) -> bool:
        return self.kind in _ZSETS

    @property
    def staging(self) -> str:
        return f"{self.new}:rekey"


def parse_old(name: str) -> OldKey | None:
    """The new name of an untagged reader key (None: not one of the recommender's layouts)."""
    found = _OLD.fullmatch(name)
    if found is None:
        return None
    part, suffix = found["part"], found["suffix"]
    kind = suffix.partition(":")[2] if suffix[0].isdigit() else suffix  # no channel id
    return OldKey(name, f"{keys.USER_PREFIX}{{{part}}}:{suffix}", kind)


@dataclass
class Report:
    moved: int = 0  # copied under the new name
    merged: int = 0  # sorted sets merged into a newer one under the new name
    kept: int = 0  # strings whose new name held a newer value
    dropped: int = 0  # caches deleted
    gone: int = 0  # expired between the scan and the copy
    unknown: int = 0  # under the prefix but no known layout: left alone

    @property
    def done(self) -> int:
        return self.moved + self.merged + self.kept + self.dropped + self.gone


Progress = Callable[[Report], None]


async def migrate_reader_keys(
    redis: Any, *, batch: int = BATCH, progress: Progress | None = None, lock: Any = None
) -> Report:
    """Move every untagged reader key (SCAN, ``batch`` keys at a time); ``lock``, a held
    redis-py lock, is renewed after each batch."""
    report = Report()
    pending: list[OldKey] = []
    async for name in redis.scan_iter(match=OLD_MATCH, count=batch):
        old = parse_old(name)
        if old is None:
            report.unknown += 1
            continue
        pending.append(old)
        if len(pending) >= batch:
            await _move(redis, pending, report)
            pending = []
            if lock is not None:
                await lock.reacquire()
            if progress is not None:
                progress(report)
    if pending:
        await _move(redis, pending, report)
        if progress is not None:
            progress(report)
    return report


async def _move(redis: Any, batch: list[OldKey], report: Report) -> None:
    moving = [k for k in batch if not k.dropped]
    async with redis.pipeline(transaction=False) as pipe:
        for key in moving:
            pipe.pttl(key.name)
            pipe.dump(key.name)
        read = await pipe.execute()
    copies: list[tuple[OldKey, int, bytes]] = []
    for i, key in enumerate(moving):
        ttl, payload = read[2 * i], read[2 * i + 1]
        if payload is None or ttl == -2:
            report.gone += 1
        else:
            copies.append((key, max(int(ttl), 0), payload))
    taken: list[tuple[OldKey, int, bytes]] = []
    if copies:
        async with redis.pipeline(transaction=False) as pipe:
            for key, ttl, payload in copies:
                pipe.restore(key.new, ttl, payload)
            restored = await pipe.execute(raise_on_error=False)
        for copy, result in zip(copies, restored, strict=True):
            if not isinstance(result, BaseException):
                report.moved += 1
            elif isinstance(result, ResponseError) and "BUSYKEY" in str(result):
                taken.append(copy)
            else:
                raise result
    await _merge(redis, taken, report)
    dropped = [k for k in batch if k.dropped]
    report.dropped += len(dropped)
    done = [k.name for k in dropped] + [k.name for k, _, _ in copies]
    if done:
        await redis.delete(*done)


async def _merge(redis: Any, taken: list[tuple[OldKey, int, bytes]], report: Report) -> None:
    """Old keys whose new name exists: sorted sets merge into it, strings keep it."""
    zsets = [(key, ttl, payload) for key, ttl, payload in taken if key.zset]
    report.kept += len(taken) - len(zsets)
    if not zsets:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for key, ttl, payload in zsets:
            pipe.restore(key.staging, STAGING_MS, payload, replace=True)
            pipe.eval(_MERGE, 2, key.new, key.staging, ttl)
        results = await pipe.execute()
    report.merged += sum(1 for merged in results[1::2] if merged)
    report.kept += sum(1 for merged in results[1::2] if not merged)


async def migrate_once(redis: Any) -> Report | None:
    """The automatic run at a recommender's start: nothing when a complete run is recorded or
    another process is at it (None then). A failure is logged, never raised (serving goes
    on), and the next start tries again."""
    try:
        if await redis.exists(MARKER):
            return None
        return await run_locked(redis)
    except Exception:  # a background job beside serving: logged, retried at the next start
        log.warning("recommend.rekey_failed", exc_info=True)
        return None


async def run_locked(redis: Any, *, progress: Progress | None = None) -> Report | None:
    """One complete run under the lock, recorded by the marker; None when the lock is held."""
    lock = redis.lock(keys.lock(LOCK_NAME), timeout=LOCK_SECONDS, blocking=False)
    if not await lock.acquire():
        return None
    try:
        report = await migrate_reader_keys(redis, progress=progress, lock=lock)
        await redis.set(MARKER, "1")
    finally:
        try:
            await lock.release()
        except LockError:
            log.warning("recommend.rekey_lock_lost")
    if report.done or report.unknown:
        log.info("recommend.rekey_done %s", report)
    return report
