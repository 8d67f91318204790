"""SQL of the site statistics: the ``statistics_*`` tables and the live counts they need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.upsert import upsert
from toutiao.models import (
    ArticleContent,
    StatisticsBasic,
    StatisticsReadSourceTotal,
    StatisticsSearch,
    StatisticsSearchTotal,
    UserProfile,
)
from toutiao.models.enums import StatisticsType


@dataclass(frozen=True)
class HourRow:
    start: datetime  # the start of the hour
    metric: StatisticsType
    count: int


@dataclass(frozen=True)
class KeywordHour:
    start: datetime
    keyword: str
    count: int
    user_count: int


@dataclass(frozen=True)
class ReadSourceRow:
    source: int
    count_20_down: int
    count_20_80: int
    count_80_up: int


def _bucket(start: datetime) -> dict[str, Any]:
    return {
        "year": start.year,
        "month": start.month,
        "day": start.day,
        "hour": start.hour,
        "date_time": start,
    }


class StatisticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> StatisticsRepository:
        return cls(session)

    async def new_users_per_hour(self, begin: datetime, end: datetime) -> dict[datetime, int]:
        """Sign-ups (``user_profile.create_time``) per hour start, for ``begin <= t < end``."""
        created = UserProfile.create_time
        rows = await self.session.execute(select(created).where(created >= begin, created < end))
        per_hour: dict[datetime, int] = {}
        for (moment,) in rows:
            start = moment.replace(minute=0, second=0, microsecond=0)
            per_hour[start] = per_hour.get(start, 0) + 1
        return per_hour

    async def write_basic(self, rows: Sequence[HourRow]) -> None:
        await upsert(
            self.session,
            StatisticsBasic.__table__,
            [{**_bucket(r.start), "type": int(r.metric), "count": r.count} for r in rows],
            conflict=("year", "month", "day", "hour", "type"),
            update=("count", "update_time"),
        )

    async def write_keywords(self, rows: Sequence[KeywordHour]) -> None:
        await upsert(
            self.session,
            StatisticsSearch.__table__,
            [
                {
                    **_bucket(r.start),
                    "keyword": r.keyword,
                    "count": r.count,
                    "user_count": r.user_count,
                }
                for r in rows
            ],
            conflict=("year", "month", "day", "hour", "keyword"),
            update=("count", "user_count", "update_time"),
        )

    async def keyword_counts(self, keywords: Sequence[str]) -> dict[str, int]:
        """All-time searches of these keywords, summed over their hourly rows."""
        if not keywords:
            return {}
        rows = await self.session.execute(
            select(StatisticsSearch.keyword, func.sum(StatisticsSearch.count))
            .where(StatisticsSearch.keyword.in_(list(keywords)))
            .group_by(StatisticsSearch.keyword)
        )
        return {keyword: int(total or 0) for keyword, total in rows}

    async def write_keyword_totals(self, totals: dict[str, tuple[int, int]]) -> None:
        await upsert(
            self.session,
            StatisticsSearchTotal.__table__,
            [{"keyword": k, "count": c, "user_count": u} for k, (c, u) in totals.items()],
            conflict=("keyword",),
            update=("count", "user_count", "update_time"),
        )

    async def write_read_sources(self, rows: Sequence[ReadSourceRow]) -> None:
        await upsert(
            self.session,
            StatisticsReadSourceTotal.__table__,
            [
                {
                    "source": r.source,
                    "count": r.count_20_down + r.count_20_80 + r.count_80_up,
                    "count_20_down": r.count_20_down,
                    "count_20_80": r.count_20_80,
                    "count_80_up": r.count_80_up,
                }
                for r in rows
            ],
            conflict=("source",),
            update=("count", "count_20_down", "count_20_80", "count_80_up", "update_time"),
        )

    async def article_text_lengths(self, article_ids: Sequence[int]) -> dict[int, str]:
        rows = await self.session.execute(
            select(ArticleContent.article_id, ArticleContent.content).where(
                ArticleContent.article_id.in_(list(article_ids))
            )
        )
        return {int(article_id): content for article_id, content in rows}

    # -- reads for M51-M56 ------------------------------------------------------------------

    async def metric_per_hour(
        self, metric: StatisticsType, begin: datetime, end: datetime
    ) -> dict[datetime, int]:
        """Hourly counts of ``metric`` with ``begin <= date_time < end``."""
        rows = await self.session.execute(
            select(StatisticsBasic.date_time, StatisticsBasic.count).where(
                StatisticsBasic.type == metric,
                StatisticsBasic.date_time >= begin,
                StatisticsBasic.date_time < end,
            )
        )
        return {moment: int(count) for moment, count in rows}

    async def metric_sum(
        self, metric: StatisticsType, begin: datetime | None = None, end: datetime | None = None
    ) -> int:
        query: Select[Any] = select(func.sum(StatisticsBasic.count)).where(
            StatisticsBasic.type == metric
        )
        if begin is not None:
            query = query.where(StatisticsBasic.date_time >= begin)
        if end is not None:
            query = query.where(StatisticsBasic.date_time < end)
        return int(await self.session.scalar(query) or 0)

    async def metric_first_day(self, metric: StatisticsType) -> date | None:
        first = await self.session.scalar(
            select(func.min(StatisticsBasic.date_time)).where(StatisticsBasic.type == metric)
        )
        return None if first is None else first.date()

    async def metrics_per_day(
        self, metrics: Sequence[StatisticsType], begin: date, end: date
    ) -> dict[tuple[StatisticsType, date], int]:
        """Daily sums of several metrics in one query (rows of ``begin`` to ``end``, inclusive)."""
        start = datetime.combine(begin, datetime.min.time())
        stop = datetime.combine(end + timedelta(days=1), datetime.min.time())
        rows = await self.session.execute(
            select(
                StatisticsBasic.type,
                StatisticsBasic.year,
                StatisticsBasic.month,
                StatisticsBasic.day,
                func.sum(StatisticsBasic.count),
            )
            .where(
                StatisticsBasic.type.in_([int(m) for m in metrics]),
                StatisticsBasic.date_time >= start,
                StatisticsBasic.date_time < stop,
            )
            .group_by(
                StatisticsBasic.type,
                StatisticsBasic.year,
                StatisticsBasic.month,
                StatisticsBasic.day,
            )
        )
        return {
            (StatisticsType(metric), date(year, month, day)): int(total or 0)
            for metric, year, month, day, total in rows
        }
