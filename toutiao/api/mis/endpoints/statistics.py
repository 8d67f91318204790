"""Site statistics (mis.md M51-M56): read from the ``statistics_*`` rows on a read replica."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import Query

from toutiao.api.deps import ReadSessionDep, RuntimeDep
from toutiao.api.mis.params import PagingDep
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.responses import ok
from toutiao.api.routing import GatedRouter
from toutiao.kit.errors import BadRequest
from toutiao.models.base import local_now
from toutiao.stats import figures

router = GatedRouter(route_class=StaffRoute)

SIZES = ("month", "day", "hour")
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_day(name: str, value: str | None) -> date | None:
    """``YYYY-MM-DD`` (the original also read ``2019-1-30``); else a 400."""
    if value is None:
        return None
    match = _DAY.match(value.strip())
    try:
        if match is None:
            raise ValueError(value)
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise BadRequest(f"{name}: expected YYYY-MM-DD") from None


@router.get("/v1_0/statistics_basic", name="mis.statistics_basic")
@requires("statistics-basic-get")
async def get_basic_statistics(
    session: ReadSessionDep,
    type: Annotated[str, Query(description="metric key, e.g. day_activate")],
    size: Annotated[str | None, Query(description="month, day or hour; absent: summary")] = None,
    begin: Annotated[str | None, Query(description="first day (day, hour)")] = None,
    end: Annotated[str | None, Query(description="last day (day, hour)")] = None,
) -> dict[str, Any]:
    """M51: one metric: its summary figures, or a month/day/hour series."""
    metric = figures.metric_of(type)
    if size is None:
        return ok(await figures.summary(session, metric))
    if size not in SIZES:
        raise BadRequest(f"size: one of {', '.join(SIZES)}")
    first, last = parse_day("begin", begin), parse_day("end", end)
    if size != "month" and (first is None or last is None):
        raise BadRequest("begin, end: both required for day and hour series")
    today = local_now().date()  # a placeholder: the month series ignores the range
    return ok(await figures.series(session, metric, size, first or today, last or today))


@router.get("/v1_0/statistics_search", name="mis.statistics_search")
@requires("statistics-search-get")
async def get_search_statistics(
    session: ReadSessionDep,
    paging: PagingDep,
    keyword: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """M52: search keywords, most searched first, with the weekly change of their searchers."""
    return ok(
        await figures.search_keywords(
            session, keyword or None, page=paging.page, per_page=paging.per_page
        )
    )


@router.get("/v1_0/statistics_search_total", name="mis.statistics_search_total")
@requires("statistics-search-total-get")
async def get_search_totals(session: ReadSessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """M53: all-time searches, distinct searchers and app users."""
    return ok(await figures.search_totals(session, runtime.store))


@router.get("/v1_0/statistics_sales_total", name="mis.statistics_sales_total")
@requires("statistics-sales-total-get")
async def get_sales_totals(session: ReadSessionDep) -> dict[str, Any]:
    """M54: sales per area (imported; the platform itself sells nothing)."""
    return ok(await figures.sales(session))


@router.get("/v1_0/statistics_read_source_total", name="mis.statistics_read_source_total")
@requires("statistics-read-source-total-get")
async def get_read_source_totals(session: ReadSessionDep) -> dict[str, Any]:
    """M55: reads per source, with read-completion buckets."""
    return ok(await figures.read_sources(session))


@router.get("/v1_0/statistics_dashboard", name="mis.statistics_dashboard")
@requires("statistics-dashboard-get")
async def get_dashboard(
    session: ReadSessionDep,
    begin: Annotated[str | None, Query(description="first day, default 6 days ago")] = None,
    end: Annotated[str | None, Query(description="last day, default today")] = None,
) -> dict[str, Any]:
    """M56: totals, pending work and per-day figures for the console's home page."""
    days = figures.DayRange.dashboard(parse_day("begin", begin), parse_day("end", end))
    return ok(await figures.dashboard(session, days))
