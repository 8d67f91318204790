"""``stats.rollup``: the Redis figures of :mod:`toutiao.stats.activity` and the database's
sign-ups, written into the ``statistics_*`` tables (mis.md §5).

The scheduled job (leader only, every 5 minutes) rolls up the current and the previous hour;
``toutiao stats rollup --begin D --end D`` rolls up any range of days. Each hour's row is
written with absolute values (an upsert), so a roll-up can run again at any time and gives
the same rows. Where a Redis hour has expired (older than ``keys.HOUR_TTL``) its traffic
metrics are left as they are in SQL; sign-ups are always recounted from ``user_profile``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from toutiao.kit.db import Database
from toutiao.kit.text import plain_text
from toutiao.models.base import local_now
from toutiao.models.enums import ReadSource, StatisticsType
from toutiao.stats import keys
from toutiao.stats.activity import metric_field
from toutiao.stats.repository import (
    HourRow,
    KeywordHour,
    ReadSourceRow,
    StatisticsRepository,
)

log = logging.getLogger("toutiao.stats.rollup")

HOUR = timedelta(hours=1)
# Metrics that come from Redis hour hashes (new_user comes from the database).
TRAFFIC_METRICS = tuple(m for m in StatisticsType if m != StatisticsType.NEW_USER)
BUCKETS = ("count_20_down", "count_20_80", "count_80_up")
READ_CHARS_PER_SECOND = 8
MIN_READ_SECONDS = 10.0


@dataclass
class RollupReport:
    hours: int = 0
    basic_rows: int = 0
    keyword_rows: int = 0
    keywords: set[str] = field(default_factory=set)


def hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hours_of_days(begin: date, end: date) -> list[datetime]:
    start = datetime.combine(begin, datetime.min.time())
    count = ((end - begin).days + 1) * 24
    return [start + i * HOUR for i in range(max(count, 0))]


async def _read_hours(redis: Any, hours: Sequence[datetime]) -> list[tuple[Any, Any, Any]]:
    async with redis.pipeline(transaction=False) as pipe:
        for start in hours:
            hour_key = keys.hour_id(start)
            pipe.hgetall(keys.hour(hour_key))
            pipe.hgetall(keys.hour_keywords(hour_key))
            pipe.hgetall(keys.hour_keyword_users(hour_key))
        raw = await pipe.execute()
    return [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]


def _basic_rows(start: datetime, traffic: dict[str, str], new_users: int) -> list[HourRow]:
    rows = [HourRow(start, StatisticsType.NEW_USER, new_users)] if new_users else []
    for metric in TRAFFIC_METRICS:
        count = int(traffic.get(metric_field(metric), 0))
        if count:
            rows.append(HourRow(start, metric, count))
    return rows


async def rollup_hours(db: Database, redis: Any, hours: Sequence[datetime]) -> RollupReport:
    """Write the rows of these hours (hour starts) in one transaction."""
    report = RollupReport(hours=len(hours))
    if not hours:
        return report
    figures = await _read_hours(redis, hours)
    async with db.session() as session:
        repo = StatisticsRepository.from_session(session)
        signups = await repo.new_users_per_hour(min(hours), max(hours) + HOUR)
        basic: list[HourRow] = []
        searched: list[KeywordHour] = []
        for start, (traffic, kw_counts, kw_users) in zip(hours, figures, strict=True):
            basic.extend(_basic_rows(start, traffic, signups.get(start, 0)))
            for keyword, count in kw_counts.items():
                searched.append(
                    KeywordHour(start, keyword, int(count), int(kw_users.get(keyword, 0)))
                )
        await repo.write_basic(basic)
        await repo.write_keywords(searched)
        report.basic_rows, report.keyword_rows = len(basic), len(searched)
        report.keywords = {row.keyword for row in searched}
        await _write_keyword_totals(repo, redis, sorted(report.keywords))
        await _write_read_sources(repo, redis)
        await session.commit()
    return report


async def _write_keyword_totals(
    repo: StatisticsRepository, redis: Any, keywords: Sequence[str]
) -> None:
    if not keywords:
        return
    counts = await repo.keyword_counts(keywords)
    async with redis.pipeline(transaction=False) as pipe:
        for keyword in keywords:
            pipe.pfcount(keys.keyword_users(keyword))
        users = await pipe.execute()
    await repo.write_keyword_totals(
        {k: (counts.get(k, 0), int(u)) for k, u in zip(keywords, users, strict=True)}
    )


async def _write_read_sources(repo: StatisticsRepository, redis: Any) -> None:
    raw = await redis.hgetall(keys.READ_SOURCES)
    if not raw:
        return
    rows = []
    for source in ReadSource:
        values = {b: int(raw.get(f"{int(source)}:{b}", 0)) for b in BUCKETS}
        if any(values.values()):
            rows.append(ReadSourceRow(int(source), **values))
    await repo.write_read_sources(rows)


async def rollup_job(db: Database, redis: Any) -> RollupReport:
    """The scheduled roll-up: the previous and the current hour."""
    current = hour_start(local_now())
    report = await rollup_hours(db, redis, [current - HOUR, current])
    log.info("stats.rolled_up rows=%d keywords=%d", report.basic_rows, report.keyword_rows)
    return report


async def backfill(db: Database, redis: Any, begin: date, end: date) -> RollupReport:
    """Roll up every hour from ``begin`` 00:00 to ``end`` 23:00, one day per transaction."""
    total = RollupReport()
    day = begin
    while day <= end:
        done = await rollup_hours(db, redis, hours_of_days(day, day))
        total.hours += done.hours
        total.basic_rows += done.basic_rows
        total.keyword_rows += done.keyword_rows
        total.keywords |= done.keywords
        day += timedelta(days=1)
    return total


async def expected_reading_seconds(db: Database, article_ids: list[int]) -> dict[int, float]:
    """Expected reading time per article: the larger of 10 s and plain-text characters / 8."""
    async with db.read_session() as session:
        contents = await StatisticsRepository.from_session(session).article_text_lengths(
            article_ids
        )
    return {
        article_id: max(MIN_READ_SECONDS, len(plain_text(content)) / READ_CHARS_PER_SECOND)
        for article_id, content in contents.items()
    }
