"""Readers' reports on articles (mis.md M42-M44)."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, TypeVar

from fastapi import Query

from toutiao.api.deps import ReadSessionDep, SessionDep
from toutiao.api.mis.deps import AuditDep, CurrentStaff
from toutiao.api.mis.params import IdList, PagingDep, check_order, check_range
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Body
from toutiao.api.responses import ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import StrictInt, parse_id, parse_int
from toutiao.kit.errors import BadRequest
from toutiao.models.enums import ReportStatus, ReportType
from toutiao.report import service as reports
from toutiao.report.repository import ReportFilter
from toutiao.staff.audit import ids_text

router = GatedRouter(route_class=StaffRoute)


E = TypeVar("E", bound=IntEnum)


def _enum_query(name: str, value: str | None, enum: type[E]) -> E | None:
    if value is None:
        return None
    try:
        return enum(parse_int(value))
    except ValueError:
        raise BadRequest(f"{name}: one of {', '.join(str(int(e)) for e in enum)}") from None


@router.get("/v1_0/reports", name="mis.reports")
@requires("report-list-get")
async def list_reports(
    session: ReadSessionDep,
    paging: PagingDep,
    status: Annotated[str | None, Query(description="0 pending, 1 handled, 2 dismissed")] = None,
    article_id: Annotated[str | None, Query()] = None,
    type: Annotated[str | None, Query(description="0-8")] = None,
    begin: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    order_by: Annotated[str | None, Query(description="id")] = None,
) -> dict[str, Any]:
    """M42: reports, newest first (or by id)."""
    low, high = check_range(begin, end)
    try:
        article = None if article_id is None else parse_id(article_id)
    except ValueError:
        raise BadRequest("article_id: a positive integer") from None
    where = ReportFilter(
        status=_enum_query("status", status, ReportStatus),
        article_id=article,
        type=_enum_query("type", type, ReportType),
        begin=low,
        end=high,
        by_id=check_order(order_by, ("id",)) == "id",
    )
    items, total = await reports.list_reports(
        session, where, offset=paging.offset, limit=paging.per_page
    )
    return ok(paging.body("reports", items, total))


@router.get("/v1_0/reports/articles", name="mis.report_articles")
@requires("report-list-get")
async def list_reported_articles(
    session: ReadSessionDep,
    paging: PagingDep,
    status: Annotated[str | None, Query(description="report status counted, default 0")] = None,
) -> dict[str, Any]:
    """M43: the report queue grouped by article, most reported first."""
    counted = _enum_query("status", status, ReportStatus) or ReportStatus.PENDING
    items, total = await reports.report_queue(
        session, counted, offset=paging.offset, limit=paging.per_page
    )
    return ok(paging.body("articles", items, total))


class ProcessBody(Body):
    report_ids: IdList | None = None
    article_ids: IdList | None = None
    status: StrictInt


@router.put("/v1_0/reports", name="mis.reports_update", status_code=201)
@requires("report-list-put")
async def process_reports(
    body: ProcessBody, staff: CurrentStaff, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M44: pending reports (by id, or every one of the given articles) handled or dismissed."""
    if body.status not in (1, 2):
        raise BadRequest("status: 1 (handled) or 2 (dismissed)")
    status = ReportStatus(body.status)
    count = await reports.process(
        session,
        staff.administrator_id,
        status,
        report_ids=body.report_ids or (),
        article_ids=body.article_ids or (),
    )
    verb = "handle" if status == ReportStatus.HANDLED else "dismiss"
    target = (
        f"reports {ids_text(body.report_ids)}"
        if body.report_ids
        else f"reports of articles {ids_text(body.article_ids or [])}"
    )
    log.log(f"report.{verb}", f"{verb} {target} ({count} changed)")
    return ok({"count": count})
