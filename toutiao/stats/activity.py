"""What the app's traffic did, counted in-process and flushed to Redis every few seconds.

Requests, readers, searches and reads happen on the hot paths of ``/app``; counting each one
with its own Redis round trip would add a round trip to every feed page. So each process
adds to an in-memory :class:`Buffer` (no I/O) and a background task (:func:`flushing`)
writes it to the storage Redis in two pipelined round trips every ``FLUSH_SECONDS``. A crash
loses at most those seconds of counts. The article detail's read counters
(``counters.ARTICLE_READS``, ``counters.USER_READS``) are buffered the same way, so a warm
detail page needs no round trip of its own for them; a flush that fails keeps them for the
next one. The ``stats.rollup`` job turns the Redis figures into
the ``statistics_*`` rows (see :mod:`toutiao.stats.rollup`).

Rare events (an approval, a visible comment) are counted at once with :func:`count_now`.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from toutiao.kit.periodic import repeating
from toutiao.models.base import local_now
from toutiao.models.enums import ReadSource, StatisticsType
from toutiao.stats import counters, keys

log = logging.getLogger("toutiao.stats.activity")

FLUSH_SECONDS = 2.0
KEYWORD_MAX = 100
# The metrics counted from traffic; the others come from the database or from count_now.
ACTIVE, IP, SEARCHER = "active", "ip", "searcher"
FIRST_SEEN_METRIC = {
    ACTIVE: StatisticsType.DAY_ACTIVATE,
    IP: StatisticsType.ACCESS_IP,
    SEARCHER: StatisticsType.SEARCH_USER,
}


def metric_field(metric: StatisticsType) -> str:
    return metric.name.lower()


def normalize_keyword(q: str) -> str:
    """A search's keyword: trimmed, lower-cased, at most 100 characters (mis.md §5.2)."""
    return q.strip().lower()[:KEYWORD_MAX]


@dataclass
class Buffer:
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (hour, metric)
    # (day, kind, member) -> the hour of its first sighting in this buffer
    seen: dict[tuple[str, str, str], str] = field(default_factory=dict)
    keyword_counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (hour, kw)
    keyword_searchers: set[tuple[str, str, str]] = field(default_factory=set)  # (hour, kw, who)
    # reading-duration reports (E35): (article id, source, seconds), bucketed at flush time
    durations: list[tuple[int, int, float]] = field(default_factory=list)
    # detail views (E34) per article and per its author: the read counters
    article_reads: Counter[int] = field(default_factory=Counter)
    author_reads: Counter[int] = field(default_factory=Counter)

    def __bool__(self) -> bool:
        return bool(
            self.counts or self.seen or self.keyword_counts or self.durations or self.article_reads
        )

    def _see(self, now: datetime, kind: str, member: str) -> None:
        self.seen.setdefault((keys.day_id(now), kind, member), keys.hour_id(now))

    def request(self, *, viewer: str | None, ip: str | None, now: datetime | None = None) -> None:
        """One ``/app`` request; ``viewer`` is the user id or ``anon:<device id>``."""
        now = now or local_now()
        self.counts[keys.hour_id(now), metric_field(StatisticsType.ACCESS)] += 1
        if viewer:
            self._see(now, ACTIVE, viewer)
        if ip:
            self._see(now, IP, ip)

    def read(self, now: datetime | None = None) -> None:
        """One article detail view (E34)."""
        now = now or local_now()
        self.counts[keys.hour_id(now), metric_field(StatisticsType.READ)] += 1

    def article_read(self, article_id: int, author_id: int) -> None:
        """One detail view of ``article_id``: its read counter and its author's."""
        self.article_reads[article_id] += 1
        self.author_reads[author_id] += 1

    def search(self, q: str, searcher: str, now: datetime | None = None) -> None:
        """One search (E05 page 1) by ``searcher`` (user id, else device id, else IP)."""
        keyword = normalize_keyword(q)
        if not keyword:
            return
        now = now or local_now()
        hour = keys.hour_id(now)
        self.counts[hour, metric_field(StatisticsType.SEARCH)] += 1
        self.keyword_counts[hour, keyword] += 1
        self.keyword_searchers.add((hour, keyword, searcher))
        self._see(now, SEARCHER, searcher)

    def duration(self, article_id: int, trace: str, seconds: float) -> None:
        """One reading-duration report (E35); its source comes from the ``Trace`` token."""
        self.durations.append((article_id, read_source(trace), seconds))


def _token(trace: str) -> Any:
    """The recommender's tokens are JSON; the API's own (fallback, pinned) are base64 JSON."""
    try:
        return orjson.loads(trace)
    except orjson.JSONDecodeError:
        pass
    try:
        return orjson.loads(base64.urlsafe_b64decode(trace.encode("ascii", "ignore") + b"=="))
    except (ValueError, orjson.JSONDecodeError):
        return None


def read_source(trace: str) -> int:
    """mis.md §5.3: a read token of the feed of channel 0 -> recommendation, of another
    channel -> channel, of the similar-articles list -> related; anything else -> other."""
    token = _token(trace)
    if not isinstance(token, dict):
        return ReadSource.OTHER
    if token.get("source") == "related":
        return ReadSource.RELATED
    channel = token.get("channelId", token.get("channel_id"))
    if isinstance(channel, int | str) and not isinstance(channel, bool) and str(channel).isdigit():
        return ReadSource.RECOMMEND if int(channel) == 0 else ReadSource.CHANNEL
    return ReadSource.OTHER


def completion_bucket(seconds: float, expected: float) -> str:
    """Which share of the article a read covered: below 20 %, 20-80 %, above 80 %."""
    ratio = seconds / expected if expected > 0 else 1.0
    if ratio < 0.2:
        return "count_20_down"
    if ratio <= 0.8:
        return "count_20_80"
    return "count_80_up"


_buffer = Buffer()


def buffer() -> Buffer:
    return _buffer


def clear() -> None:
    """Drop what was counted and not flushed (tests)."""
    global _buffer
    _buffer = Buffer()


def _take() -> Buffer:
    global _buffer
    taken, _buffer = _buffer, Buffer()
    return taken


ExpectedSeconds = Callable[[list[int]], Awaitable[dict[int, float]]]


async def flush(redis: Any, expected_seconds: ExpectedSeconds | None = None) -> None:
    """Write what this process counted since the last flush. On a Redis or database error
    the counts are lost (logged): statistics must never hold the API up.

    ``expected_seconds`` gives each article's expected reading time (one query for the
    batch); without it, reading-duration reports are dropped."""
    taken = _take()
    if not taken:
        return
    try:
        sources: Counter[str] = Counter()
        if taken.durations and expected_seconds is not None:
            expected = await expected_seconds(sorted({a for a, _, _ in taken.durations}))
            for article_id, source, seconds in taken.durations:
                if article_id in expected:
                    bucket = completion_bucket(seconds, expected[article_id])
                    sources[f"{source}:{bucket}"] += 1
        await _write(redis, taken, sources)
    except (RedisError, SQLAlchemyError):
        # The read counters stay for the next flush (the others are traffic statistics).
        _buffer.article_reads.update(taken.article_reads)
        _buffer.author_reads.update(taken.author_reads)
        log.warning("stats.flush_failed: counts of a few seconds lost", exc_info=True)


async def _write(redis: Any, taken: Buffer, sources: Counter[str]) -> None:
    seen = list(taken.seen.items())
    searchers = sorted(taken.keyword_searchers)
    # Round trip 1: which members are new today / new for the keyword this hour.
    async with redis.pipeline(transaction=False) as pipe:
        for (day, kind, member), _hour in seen:
            key = keys.day_seen(day, kind)
            pipe.sadd(key, member)
            pipe.expire(key, keys.DAY_TTL)
        for hour, keyword, who in searchers:
            key = keys.hour_keyword_seen(hour)
            pipe.hsetnx(key, f"{keyword}{keys.SEP}{who}", 1)
            pipe.expire(key, keys.DAY_TTL)
        answers = await pipe.execute()
    counts = Counter(taken.counts)
    for index, ((_day, kind, _member), hour) in enumerate(seen):
        if answers[2 * index]:
            counts[hour, metric_field(FIRST_SEEN_METRIC[kind])] += 1
    offset = 2 * len(seen)
    new_searchers = Counter(
        (hour, keyword)
        for index, (hour, keyword, _who) in enumerate(searchers)
        if answers[offset + 2 * index]
    )
    # Round trip 2: the counts.
    async with redis.pipeline(transaction=False) as pipe:
        _queue_counts(pipe, counts, taken, new_searchers, searchers)
        for item, amount in sources.items():
            pipe.hincrby(keys.READ_SOURCES, item, amount)
        for article_id, amount in taken.article_reads.items():
            pipe.zincrby(counters.ARTICLE_READS.key, amount, article_id)
        for author_id, amount in taken.author_reads.items():
            pipe.zincrby(counters.USER_READS.key, amount, author_id)
        await pipe.execute()


def _queue_counts(
    pipe: Any,
    counts: Counter[tuple[str, str]],
    taken: Buffer,
    new_searchers: Counter[tuple[str, str]],
    searchers: Iterable[tuple[str, str, str]],
) -> None:
    touched: set[str] = set()
    for (hour, metric), amount in counts.items():
        pipe.hincrby(keys.hour(hour), metric, amount)
        touched.add(keys.hour(hour))
    for (hour, keyword), amount in taken.keyword_counts.items():
        pipe.hincrby(keys.hour_keywords(hour), keyword, amount)
        touched.add(keys.hour_keywords(hour))
    for (hour, keyword), amount in new_searchers.items():
        pipe.hincrby(keys.hour_keyword_users(hour), keyword, amount)
        touched.add(keys.hour_keyword_users(hour))
    for key in touched:
        pipe.expire(key, keys.HOUR_TTL)
    for _hour, keyword, who in searchers:
        pipe.pfadd(keys.keyword_users(keyword), who)
        pipe.pfadd(keys.SEARCHERS, who)


def queue_count(pipe: Any, metric: StatisticsType, amount: int = 1) -> None:
    """Queue the count of a rare event on a caller's pipeline (no extra round trip)."""
    key = keys.hour(keys.hour_id(local_now()))
    pipe.hincrby(key, metric_field(metric), amount)
    pipe.expire(key, keys.HOUR_TTL)


async def count_now(redis: Any, metric: StatisticsType, amount: int = 1) -> None:
    """Count a rare event at once (an approval, a comment becoming visible): one round trip.
    Called after the commit; a Redis error is logged, never raised."""
    if amount <= 0:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            queue_count(pipe, metric, amount)
            await pipe.execute()
    except RedisError:
        log.warning("stats.count_failed metric=%s", metric.name, exc_info=True)


def flushing(
    redis: Any, expected_seconds: ExpectedSeconds | None = None, *, every: float = FLUSH_SECONDS
) -> contextlib.AbstractAsyncContextManager[None]:
    """Flush periodically while the app runs, and once more when it stops."""
    return repeating(lambda: flush(redis, expected_seconds), every=every, name="stats.flush")
