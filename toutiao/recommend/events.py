"""Behaviour events: appended by the API to the ``reco:events`` stream, folded by a job into
users' interest profiles and the articles' popularity. Exposures (the batches a feed showed,
one event per fresh batch) go to a stream of their own, ``reco:exposures``: they are the
behaviour log's for offline use, and no profile or popularity changes with them, so the
fold never reads them (at a busy feed's rate they were most of what it read, and a fold
that reads more than it can keep up with lags the readers' profiles without bound).

Folding is exactly-once on a single Redis server: a batch's effects and the new cursor are
written in one MULTI, guarded by WATCH on the cursor, so a crash before EXEC leaves nothing
and a concurrent folder makes the slower EXEC fail. A Redis Cluster cannot run a MULTI
across slots: there a folder first claims its batch by moving the cursor with a one-key
compare-and-set script, then writes the effects, so concurrent folders still fold each batch
once (a crash between the claim and the effects loses that batch's effects instead).
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, WatchError
from sqlalchemy import select

from toutiao.kit import pace
from toutiao.kit.db import Database
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus
from toutiao.recommend import keys
from toutiao.recommend.profile import (
    INTEREST_HALF_LIFE,
    POSITIVE_ACTIONS,
    PROFILE_TTL,
    action_weight,
    queue_interest,
    queue_positives,
)

log = logging.getLogger("toutiao.recommend.events")

ACTIONS = frozenset({"exposure", "click", "read", "like", "collect", "share", "dislike"})
STREAM_MAXLEN = 1_000_000
MAX_PARAM_CHARS = 1024  # the client's Trace header: opaque, but bounded
MAX_USER_CHARS = 128
MAX_DURATION = 86_400.0
EXCLUSIONS_VERSION_TTL = 30 * 86400  # longer than any cached copy of the exclusions lives

HOT_HALF_LIFE = 6 * 3600.0
HOT_WEIGHTS = {"click": 1.0, "read": 0.5, "like": 3.0, "collect": 4.0, "share": 5.0}
HOT_CAP, CHANNEL_HOT_CAP = 5000, 2000
DECAY_STEP = 0.1  # decay a zset once a tenth of its half-life has passed
HOT_FLOOR = 0.01  # decayed below this: no longer popular


def _identifier(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} must be an integer")
    number = int(value)
    if not 0 <= number < 2**63:
        raise ValueError(f"{name} out of range")
    return number


def _duration(value: float | None) -> str:
    if value is None:
        return ""
    seconds = float(value)
    if not math.isfinite(seconds):
        raise ValueError("duration must be finite")
    return f"{min(max(seconds, 0.0), MAX_DURATION):.3f}"


def event_fields(
    *,
    action: str,
    user_id: str | int | None,
    article_id: int | None,
    channel_id: int | None = None,
    duration: float | None = None,
    param: str | None = None,
) -> dict[str, str]:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    article = _identifier(article_id, "article_id")
    channel = _identifier(channel_id, "channel_id")
    opaque = "" if param is None else str(param)[:MAX_PARAM_CHARS]
    return {
        "action": action,
        "user_id": str(user_id or "").strip()[:MAX_USER_CHARS],
        "article_id": "" if article is None else str(article),
        "channel_id": "" if channel is None else str(channel),
        "duration": _duration(duration),
        # Never parsed: the client can send anything. Made encodable, nothing more.
        "param": opaque.encode("utf-8", "backslashreplace").decode("utf-8"),
        "ts": str(int(time.time() * 1000)),
    }


def queue_event(
    pipe: Any,
    *,
    action: str,
    user_id: str,
    article_id: int | None,
    channel_id: int | None = None,
    duration: float | None = None,
    param: str | None = None,
) -> None:
    """Queue the XADD on a caller's pipeline (the API batches it with its other commands).
    Bad fields raise ValueError before anything is queued."""
    fields = event_fields(
        action=action,
        user_id=user_id,
        article_id=article_id,
        channel_id=channel_id,
        duration=duration,
        param=param,
    )
    _queue_xadd(pipe, fields)


def _queue_xadd(pipe: Any, fields: dict[str, str]) -> None:
    stream = keys.EXPOSURES if fields["action"] == "exposure" else keys.EVENTS
    pipe.xadd(stream, fields, maxlen=STREAM_MAXLEN, approximate=True)


# Clicks from the article detail, kept in-process and appended every few seconds
# (``flush_buffered``): a warm detail page then needs no Redis round trip of its own for them.
# A failed flush keeps them for the next one, up to BUFFER_MAX (the oldest are dropped then).
BUFFER_MAX = 20_000
# Events appended per round trip of a flush: a busy worker buffers thousands between two
# flushes, and writing them as one pipeline held its event loop for 30 ms and more (every
# request it had waited that long); a chunk is a few milliseconds, and requests run between.
FLUSH_CHUNK = 1_000
_buffered: list[dict[str, str]] = []


def buffer_event(
    *,
    action: str,
    user_id: str,
    article_id: int | None,
    channel_id: int | None = None,
    param: str | None = None,
) -> None:
    """Keep an event for the next :func:`flush_buffered`. Bad fields raise ValueError."""
    fields = event_fields(
        action=action, user_id=user_id, article_id=article_id, channel_id=channel_id, param=param
    )
    _buffered.append(fields)
    if len(_buffered) > BUFFER_MAX:
        del _buffered[: len(_buffered) - BUFFER_MAX]


async def flush_buffered(redis: Any) -> int:
    """Append the buffered events, in order, a round trip per ``FLUSH_CHUNK`` of them;
    returns how many were appended."""
    taken = _buffered[:]
    del _buffered[: len(taken)]
    done = 0
    try:
        while done < len(taken):
            chunk = taken[done : done + FLUSH_CHUNK]
            async with redis.pipeline(transaction=False) as pipe:
                for fields in chunk:
                    _queue_xadd(pipe, fields)
                await pipe.execute()
            done += len(chunk)
    except RedisError:
        unsent = taken[done:]
        room = BUFFER_MAX - len(_buffered)  # the newest of them, before what came since
        _buffered[:0] = unsent[max(len(unsent) - room, 0) :] if room > 0 else []
        log.warning("recommend.events_flush_failed kept=%d", len(_buffered), exc_info=True)
    return done


def clear_buffered() -> None:
    """Drop what was buffered and not flushed (tests)."""
    _buffered.clear()


def queue_exclusions_changed(pipe: Any, *user_ids: int) -> None:
    """After a committed change of these users' dislikes or blacklists: the recommender's
    cached copy of them (``keys.exclusions``) is stale from now on."""
    for user_id in user_ids:
        key = keys.exclusions_version(str(user_id))
        pipe.incr(key)
        pipe.expire(key, EXCLUSIONS_VERSION_TTL)


def queue_catalog_changed(pipe: Any) -> None:
    """After an approved article was withdrawn, deleted, banned or moved: recommenders drop
    their cached article metadata and check what they serve against the database again."""
    pipe.incr(keys.CATALOG)


async def append_event(
    redis: Any,
    *,
    action: str,
    user_id: str,
    article_id: int | None,
    channel_id: int | None = None,
    duration: float | None = None,
    param: str | None = None,
) -> None:
    """Append one event. Bad fields raise ValueError; Redis errors propagate to the caller."""
    async with redis.pipeline(transaction=False) as pipe:
        queue_event(
            pipe,
            action=action,
            user_id=user_id,
            article_id=article_id,
            channel_id=channel_id,
            duration=duration,
            param=param,
        )
        await pipe.execute()


# -- folding ---------------------------------------------------------------------------------


@dataclass
class _Fold:
    """What one batch of events changes, before it is written."""

    interest: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    positives: dict[str, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    negatives: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    hot: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, target: dict[str, float], member: str, amount: float) -> None:
        target[member] = target.get(member, 0.0) + amount


FOLD_BATCH = 500  # events read at a time
# Events whose writes go in one transaction. The server runs a transaction whole while every
# other client waits: 500 readers' clicks made one of 5-11 ms, and each fresh feed batch or
# article page that arrived meanwhile waited that long.
COMMIT_EVENTS = 100


async def fold_events(
    db: Database, redis: Any, *, batch: int = FOLD_BATCH, max_batches: int = 20
) -> int:
    """Fold unprocessed events, oldest first, up to ``max_batches`` batches; returns how many
    were folded."""
    total = 0
    for _ in range(max_batches):
        folded = await _fold_batch(db, redis, batch)
        total += folded
        if folded < batch:
            break
    if total:
        log.info("recommend.events_folded count=%d", total)
    return total


async def _fold_batch(db: Database, redis: Any, batch: int) -> int:
    cursor = await redis.get(keys.EVENTS_FOLDED) or "0-0"
    entries = await redis.xrange(keys.EVENTS, min=f"({cursor}", count=batch)
    if not entries:
        return 0
    article_ids = {int(f["article_id"]) for _, f in entries if f.get("article_id")}
    channels, keywords = await _articles(db, redis, article_ids)
    folded = 0
    for start in range(0, len(entries), COMMIT_EVENTS):
        await pace.background.turn()  # a fold catching up is a burst of CPU: paced
        part = entries[start : start + COMMIT_EVENTS]
        fold = _Fold()
        for _, fields in part:
            _apply(fold, fields, channels, keywords)
        now = time.time()
        decays = await _decays(redis, fold, now)
        if not await _commit(redis, cursor, part[-1][0], fold, decays, now):
            break  # another folder moved the cursor: the rest is its
        cursor = part[-1][0]
        folded += len(part)
    return folded


async def _articles(
    db: Database, redis: Any, article_ids: set[int]
) -> tuple[dict[int, int], dict[int, list[str]]]:
    """Channel of each approved article, and its keywords from the similarity index."""
    if not article_ids:
        return {}, {}
    ordered = sorted(article_ids)
    query = select(Article.article_id, Article.channel_id).where(
        Article.article_id.in_(ordered), Article.status == ArticleStatus.APPROVED
    )
    async with db.read_session() as session:
        channels: dict[int, int] = dict((await session.execute(query)).all())
    words = await redis.hmget(keys.ART_KEYWORDS, [str(a) for a in ordered])
    return channels, {a: (w or "").split() for a, w in zip(ordered, words, strict=True)}


def _apply(
    fold: _Fold, fields: dict[str, str], channels: dict[int, int], words: dict[int, list[str]]
) -> None:
    action, uid = fields.get("action", ""), fields.get("user_id", "")
    if not fields.get("article_id") or action not in ACTIONS:
        return
    article_id = int(fields["article_id"])
    channel_id = channels.get(article_id)
    if channel_id is None:  # unknown or no longer approved
        return
    duration = float(fields["duration"]) if fields.get("duration") else None
    if action in HOT_WEIGHTS:
        gain = HOT_WEIGHTS[action]
        fold.add(fold.hot[keys.HOT], str(article_id), gain)
        fold.add(fold.hot[keys.channel_hot(channel_id)], str(article_id), gain)
    if not uid:
        return
    weight = action_weight(action, duration)
    if weight:
        target = fold.interest[uid]
        fold.add(target, f"c:{channel_id}", weight)
        for word in words.get(article_id, ()):
            fold.add(target, f"k:{word}", weight / 2)
    if action in POSITIVE_ACTIONS:
        fold.positives[uid][article_id] = int(fields.get("ts", "0")) / 1000
    elif action == "dislike":
        fold.negatives[uid].add(article_id)


def _decayed_keys(fold: _Fold) -> dict[str, float]:
    """Every zset this batch touches, with its half-life."""
    found = dict.fromkeys(fold.hot, HOT_HALF_LIFE)
    found.update(dict.fromkeys((keys.interest(uid) for uid in fold.interest), INTEREST_HALF_LIFE))
    return found


async def _decays(redis: Any, fold: _Fold, now: float) -> dict[str, float | None]:
    """key -> factor to multiply it by now (None: first sighting, start its clock)."""
    targets = _decayed_keys(fold)
    async with redis.pipeline(transaction=False) as pipe:
        for key in targets:
            pipe.get(keys.decayed_at(key))
        stamps = await pipe.execute()
    factors: dict[str, float | None] = {}
    for (key, half_life), stamp in zip(targets.items(), stamps, strict=True):
        if stamp is None:
            factors[key] = None
        elif (elapsed := now - float(stamp)) >= half_life * DECAY_STEP:
            factors[key] = 0.5 ** (elapsed / half_life)
    return factors


# The cluster's claim: move the cursor from ARGV[1] to ARGV[2] only if nobody moved it.
_CLAIM = """
if (redis.call('GET', KEYS[1]) or '0-0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


async def _commit(
    redis: Any,
    cursor: str,
    last_id: str,
    fold: _Fold,
    decays: dict[str, float | None],
    now: float,
) -> bool:
    exact = not isinstance(redis, RedisCluster)
    if not exact:
        if not await redis.eval(_CLAIM, 1, keys.EVENTS_FOLDED, cursor, last_id):
            return False  # another folder got here first
        async with redis.pipeline(transaction=False) as pipe:
            _queue_fold(pipe, fold, decays, now)
            await pipe.execute()
        return True
    async with redis.pipeline(transaction=exact) as pipe:
        try:
            if exact:
                await pipe.watch(keys.EVENTS_FOLDED)
                if (await pipe.get(keys.EVENTS_FOLDED) or "0-0") != cursor:
                    return False  # another folder got here first
                pipe.multi()
            _queue_fold(pipe, fold, decays, now)
            pipe.set(keys.EVENTS_FOLDED, last_id)
            await pipe.execute()
        except WatchError:
            return False
    return True


def _queue_fold(pipe: Any, fold: _Fold, decays: dict[str, float | None], now: float) -> None:
    for key, factor in decays.items():
        if factor is not None:
            pipe.zunionstore(key, {key: factor})
        ttl = PROFILE_TTL if keys.is_reader_key(key) else None
        pipe.set(keys.decayed_at(key), f"{now:.3f}", ex=ttl)
    for key, gains in fold.hot.items():
        for member, gain in gains.items():
            pipe.zincrby(key, gain, member)
        pipe.zremrangebyscore(key, "-inf", HOT_FLOOR)
        pipe.zremrangebyrank(key, 0, -(HOT_CAP if key == keys.HOT else CHANNEL_HOT_CAP) - 1)
    for uid, gains in fold.interest.items():
        queue_interest(pipe, uid, gains)
    for uid in {*fold.positives, *fold.negatives}:
        queue_positives(pipe, uid, fold.positives.get(uid, {}), fold.negatives.get(uid, set()))
