"""The figures staff read (mis M51-M56), from the ``statistics_*`` rows and live counts.

Every function takes a read session (a replica when configured) and validated arguments;
the surface parses and checks the query string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.errors import BadRequest
from toutiao.models.base import local_now
from toutiao.models.enums import ReadSource, SalesArea, StatisticsType
from toutiao.stats import keys
from toutiao.stats.repository import StatisticsRepository
from toutiao.stats.site_repository import SiteCountsRepository

MAX_DAY_RANGE = 366
MAX_HOUR_RANGE = 31
MAX_DASHBOARD_DAYS = 92
DASHBOARD_DAYS = 7

AREA_NAMES = {
    SalesArea.OTHER: "其他",
    SalesArea.BEIJING: "北京",
    SalesArea.SHANGHAI: "上海",
    SalesArea.SHENZHEN: "深圳",
    SalesArea.GUANGZHOU: "广州",
    SalesArea.HANGZHOU: "杭州",
}
SOURCE_NAMES = {
    ReadSource.OTHER: "其他",
    ReadSource.RECOMMEND: "推荐",
    ReadSource.CHANNEL: "频道",
    ReadSource.RELATED: "相关阅读",
    ReadSource.OUTSIDE: "应用外阅读",
}
DAILY_METRICS = {
    "new_users": StatisticsType.NEW_USER,
    "active_users": StatisticsType.DAY_ACTIVATE,
    "approved_articles": StatisticsType.ARTICLE,
    "comments": StatisticsType.COMMENT,
    "reads": StatisticsType.READ,
    "searches": StatisticsType.SEARCH,
}


class Summary(TypedDict):
    total_count: int
    day_count: int
    day_percent: float
    week_percent: float
    total_days: int
    day_average: float


def percent_change(current: int, previous: int) -> float:
    """(current - previous) / previous x 100, dividing by 1 when previous is 0."""
    return round((current - previous) / (previous or 1) * 100, 2)


def midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def metric_of(key: str) -> StatisticsType:
    """A metric by its query key (``day_activate``, ``access``, ...), else a 400."""
    for metric in StatisticsType:
        if metric.name.lower() == key:
            return metric
    raise BadRequest(f"type: unknown metric {key!r}")


async def summary(session: AsyncSession, metric: StatisticsType) -> Summary:
    repo = StatisticsRepository.from_session(session)
    now = local_now()
    today = midnight(now.date())
    week_start = today - timedelta(days=6)
    total = await repo.metric_sum(metric)
    day_count = await repo.metric_sum(metric, today)
    yesterday = await repo.metric_sum(metric, today - timedelta(days=1), today)
    week = await repo.metric_sum(metric, week_start)
    week_before = await repo.metric_sum(metric, week_start - timedelta(days=7), week_start)
    first = await repo.metric_first_day(metric)
    total_days = 0 if first is None else (now.date() - first).days + 1
    return {
        "total_count": total,
        "day_count": day_count,
        "day_percent": percent_change(day_count, yesterday),
        "week_percent": percent_change(week, week_before),
        "total_days": total_days,
        "day_average": round(total / (total_days or 1), 2),
    }


def check_range(begin: date, end: date, limit: int) -> None:
    if begin > end:
        raise BadRequest("begin: must not be after end")
    if (end - begin).days + 1 > limit:
        raise BadRequest(f"begin, end: at most {limit} days")


async def series(
    session: AsyncSession, metric: StatisticsType, size: str, begin: date, end: date
) -> list[dict[str, Any]]:
    """The chart forms of M51: ``month`` (this year), ``day`` or ``hour`` buckets."""
    repo = StatisticsRepository.from_session(session)
    if size == "month":
        year = local_now().year
        per_day = await repo.metrics_per_day([metric], date(year, 1, 1), date(year, 12, 31))
        months = [0] * 12
        for (_metric, day), count in per_day.items():
            months[day.month - 1] += count
        return [{"month": m + 1, "count": months[m]} for m in range(12)]
    if size == "day":
        check_range(begin, end, MAX_DAY_RANGE)
        per_day = await repo.metrics_per_day([metric], begin, end)
        days = [begin + timedelta(days=i) for i in range((end - begin).days + 1)]
        return [{"date": d.isoformat(), "count": per_day.get((metric, d), 0)} for d in days]
    check_range(begin, end, MAX_HOUR_RANGE)
    start, stop = midnight(begin), midnight(end + timedelta(days=1))
    per_hour = await repo.metric_per_hour(metric, start, stop)
    hours = int((stop - start).total_seconds() // 3600)
    moments = [start + timedelta(hours=i) for i in range(hours)]
    return [
        {"date_time": m.strftime("%Y-%m-%d %H:00:00"), "count": per_hour.get(m, 0)} for m in moments
    ]


async def search_keywords(
    session: AsyncSession, keyword: str | None, *, page: int, per_page: int
) -> dict[str, Any]:
    """M52: keywords by all-time searches, with the weekly change of their searching users."""
    repo = SiteCountsRepository.from_session(session)
    found, total = await repo.keyword_page(keyword, offset=(page - 1) * per_page, limit=per_page)
    today = midnight(local_now().date())
    week_start = today - timedelta(days=6)
    weeks = await repo.keyword_users_between(
        [k.keyword for k in found],
        week_start - timedelta(days=7),
        week_start,
        today + timedelta(days=1),
    )
    items = []
    for item in found:
        before, current = weeks.get(item.keyword, (0, 0))
        items.append(
            {
                "keyword": item.keyword,
                "user_count": item.user_count,
                "week_percent": percent_change(current, before),
                "count": item.count,
            }
        )
    return {"keywords": items, "total_count": total, "page": page, "per_page": per_page}


async def search_totals(session: AsyncSession, store: Any) -> dict[str, int]:
    """M53; distinct searchers all time come from a HyperLogLog (about 1 % error)."""
    repo = SiteCountsRepository.from_session(session)
    return {
        "count": await repo.all_searches(),
        "search_user_count": int(await store.pfcount(keys.SEARCHERS)),
        "user_count": await repo.user_count(),
    }


async def sales(session: AsyncSession) -> dict[str, Any]:
    """M54: imported rows only (the platform sells nothing); unknown area codes skipped."""
    rows = await SiteCountsRepository.from_session(session).sales()
    known = {a.value for a in SalesArea}
    items: list[dict[str, Any]] = [
        {"area": area, "area_name": AREA_NAMES[SalesArea(area)], "money": money}
        for area, money in rows
        if area in known
    ]
    items.sort(key=lambda i: (-i["money"], i["area"]))
    return {"area_sales": items, "total_money": sum(i["money"] for i in items)}


async def read_sources(session: AsyncSession) -> dict[str, Any]:
    """M55: reads per source, most first; unknown source codes skipped."""
    rows = await SiteCountsRepository.from_session(session).read_sources()
    known = {s.value for s in ReadSource}
    items: list[dict[str, Any]] = [
        {
            "source": row.source,
            "source_name": SOURCE_NAMES[ReadSource(row.source)],
            "count": int(row.count),
            "count_20_down": int(row.count_20_down),
            "count_20_80": int(row.count_20_80),
            "count_80_up": int(row.count_80_up),
        }
        for row in rows
        if row.source in known
    ]
    items.sort(key=lambda i: (-i["count"], i["source"]))
    return {"read_sources": items, "total_read_count": sum(i["count"] for i in items)}


@dataclass(frozen=True)
class DayRange:
    begin: date
    end: date

    @classmethod
    def dashboard(cls, begin: date | None, end: date | None) -> DayRange:
        """Default: the last 7 days including today; at most 92 days."""
        last = end or local_now().date()
        first = begin or last - timedelta(days=DASHBOARD_DAYS - 1)
        check_range(first, last, MAX_DASHBOARD_DAYS)
        return cls(first, last)


async def dashboard(session: AsyncSession, days: DayRange) -> dict[str, Any]:
    """M56: live totals and queues, and per-day metrics from the hourly rows: three
    statements whatever the range."""
    site = SiteCountsRepository.from_session(session)
    live = await site.live_counts()
    per_day = await StatisticsRepository.from_session(session).metrics_per_day(
        list(DAILY_METRICS.values()), days.begin, days.end
    )
    submitted = await site.submitted_articles_per_day(days.begin, days.end)
    daily = []
    for i in range((days.end - days.begin).days + 1):
        day = days.begin + timedelta(days=i)
        item: dict[str, Any] = {"date": day.isoformat()}
        for name, metric in DAILY_METRICS.items():
            item[name] = per_day.get((metric, day), 0)
        item["new_articles"] = submitted.get(day, 0)
        daily.append(item)
    return {
        "totals": {
            "user_count": live.user_count,
            "frozen_user_count": live.frozen_user_count,
            "media_user_count": live.media_user_count,
            "verified_user_count": live.verified_user_count,
            "approved_article_count": live.approved_article_count,
            "visible_channel_count": live.visible_channel_count,
        },
        "pending": {
            "article_count": live.pending_article_count,
            "legalize_count": live.pending_legalize_count,
            "report_article_count": live.report_article_count,
            "comment_count": live.pending_comment_count,
        },
        "daily": daily,
    }
