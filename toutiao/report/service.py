"""Processing readers' reports (mis M42-M44).

A report is pending (0) until a staff member marks it handled (1) or dismissed (2); only
pending reports change, so processing is idempotent. Banning or deleting an approved article
marks its pending reports handled (:func:`handle_for_articles`, called by the review).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.errors import BadRequest
from toutiao.models.base import local_now
from toutiao.models.enums import ReportStatus
from toutiao.report.repository import ReportFilter, ReportRepository


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat()


async def list_reports(
    session: AsyncSession, where: ReportFilter, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = await ReportRepository.from_session(session).page(
        where, offset=offset, limit=limit
    )
    items = [
        {
            "report_id": r.report_id,
            "article_id": r.article_id,
            "article_title": r.article_title,
            "article_status": None if r.article_status is None else int(r.article_status),
            "user_id": r.user_id,
            "user_name": r.user_name,
            "type": int(r.type),
            "remark": r.remark,
            "status": int(r.status),
            "handler_id": r.handler_id,
            "handle_time": _iso(r.handle_time),
            "create_time": _iso(r.create_time),
        }
        for r in rows
    ]
    return items, total


async def report_queue(
    session: AsyncSession, status: ReportStatus, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """M43: reported articles, with their report counts per type."""
    repo = ReportRepository.from_session(session)
    rows, total = await repo.reported_articles(status, offset=offset, limit=limit)
    kinds = await repo.type_counts(status, [r.article_id for r in rows])
    items = [
        {
            "article_id": r.article_id,
            "title": r.title,
            "article_status": int(r.article_status),
            "user_id": r.user_id,
            "author_name": r.author_name,
            "channel_name": r.channel_name,
            "report_count": int(r.report_count),
            "type_counts": [{"type": t, "count": n} for t, n in kinds.get(r.article_id, [])],
            "latest_report_time": _iso(r.latest_report_time),
        }
        for r in rows
    ]
    return items, total


async def process(
    session: AsyncSession,
    handler_id: int,
    status: ReportStatus,
    *,
    report_ids: Sequence[int] = (),
    article_ids: Sequence[int] = (),
) -> int:
    """M44: mark the pending reports named (or those of the articles named) ``status``."""
    if status not in (ReportStatus.HANDLED, ReportStatus.DISMISSED):
        raise BadRequest("status: 1 (handled) or 2 (dismissed)")
    if bool(report_ids) == bool(article_ids):
        raise BadRequest("Send exactly one of report_ids and article_ids.")
    repo = ReportRepository.from_session(session)
    ids = list(report_ids or article_ids)
    known = await (repo.existing_reports(ids) if report_ids else repo.existing_articles(ids))
    missing = [i for i in ids if i not in known]
    if missing:
        kind = "report_ids" if report_ids else "article_ids"
        raise BadRequest(f"{kind}: unknown ids {', '.join(map(str, missing))}")
    return await repo.process_pending(
        report_ids=report_ids,
        article_ids=article_ids,
        status=status,
        handler_id=handler_id,
        now=local_now(),
    )


async def handle_for_articles(
    session: AsyncSession, handler_id: int, article_ids: Sequence[int]
) -> int:
    """The pending reports of articles a staff member banned or deleted become handled."""
    if not article_ids:
        return 0
    return await ReportRepository.from_session(session).process_pending(
        article_ids=article_ids,
        status=ReportStatus.HANDLED,
        handler_id=handler_id,
        now=local_now(),
    )
