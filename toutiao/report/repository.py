"""SQL of article reports as staff process them (mis M42-M44)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import Article, Channel, Report, User
from toutiao.models.enums import ArticleStatus, ReportStatus, ReportType


@dataclass(frozen=True)
class ReportFilter:
    status: ReportStatus | None = None
    article_id: int | None = None
    type: ReportType | None = None
    begin: datetime | None = None
    end: datetime | None = None
    by_id: bool = False


@dataclass(frozen=True)
class ReportRow:
    report_id: int
    article_id: int
    article_title: str | None
    article_status: ArticleStatus | None
    user_id: int
    user_name: str | None
    type: ReportType
    remark: str | None
    status: ReportStatus
    handler_id: int | None
    handle_time: datetime | None
    create_time: datetime


@dataclass(frozen=True)
class ReportedArticle:
    article_id: int
    title: str
    article_status: ArticleStatus
    user_id: int
    author_name: str | None
    channel_name: str | None
    report_count: int
    latest_report_time: datetime


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> ReportRepository:
        return cls(session)

    def _where(self, where: ReportFilter) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if where.status is not None:
            found.append(Report.status == where.status)
        if where.article_id is not None:
            found.append(Report.article_id == where.article_id)
        if where.type is not None:
            found.append(Report.type == where.type)
        if where.begin is not None:
            found.append(Report.create_time >= where.begin)
        if where.end is not None:
            found.append(Report.create_time <= where.end)
        return found

    async def page(
        self, where: ReportFilter, *, offset: int, limit: int
    ) -> tuple[list[ReportRow], int]:
        conditions = self._where(where)
        total = await self.session.scalar(
            select(func.count()).select_from(Report).where(*conditions)
        )
        order = (
            (Report.report_id,)
            if where.by_id
            else (Report.create_time.desc(), Report.report_id.desc())
        )
        query = (
            select(
                Report.report_id,
                Report.article_id,
                Article.title,
                Article.status,
                Report.user_id,
                User.user_name,
                Report.type,
                Report.remark,
                Report.status,
                Report.handler_id,
                Report.handle_time,
                Report.create_time,
            )
            .outerjoin(Article, Article.article_id == Report.article_id)
            .outerjoin(User, User.user_id == Report.user_id)
            .where(*conditions)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
        rows = await self.session.execute(query)
        return [ReportRow(*row) for row in rows], int(total or 0)

    async def reported_articles(
        self, status: ReportStatus, *, offset: int, limit: int
    ) -> tuple[list[ReportedArticle], int]:
        """Articles with reports in ``status``: most reports, then latest report first."""
        grouped = (
            select(
                Report.article_id.label("article_id"),
                func.count().label("reports"),
                func.max(Report.create_time).label("latest"),
            )
            .where(Report.status == status)
            .group_by(Report.article_id)
            .subquery()
        )
        total = await self.session.scalar(select(func.count()).select_from(grouped))
        rows = await self.session.execute(
            select(
                Article.article_id,
                Article.title,
                Article.status,
                Article.user_id,
                User.user_name,
                Channel.channel_name,
                grouped.c.reports,
                grouped.c.latest,
            )
            .join(grouped, grouped.c.article_id == Article.article_id)
            .outerjoin(User, User.user_id == Article.user_id)
            .outerjoin(Channel, Channel.channel_id == Article.channel_id)
            .order_by(grouped.c.reports.desc(), grouped.c.latest.desc(), Article.article_id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [ReportedArticle(*row) for row in rows], int(total or 0)

    async def type_counts(
        self, status: ReportStatus, article_ids: Sequence[int]
    ) -> dict[int, list[tuple[int, int]]]:
        if not article_ids:
            return {}
        rows = await self.session.execute(
            select(Report.article_id, Report.type, func.count())
            .where(Report.status == status, Report.article_id.in_(list(article_ids)))
            .group_by(Report.article_id, Report.type)
            .order_by(Report.article_id, Report.type)
        )
        found: dict[int, list[tuple[int, int]]] = {}
        for article_id, kind, count in rows:
            found.setdefault(int(article_id), []).append((int(kind), int(count)))
        return found

    async def existing_reports(self, report_ids: Sequence[int]) -> set[int]:
        rows = await self.session.scalars(
            select(Report.report_id).where(Report.report_id.in_(list(report_ids)))
        )
        return set(rows)

    async def existing_articles(self, article_ids: Sequence[int]) -> set[int]:
        rows = await self.session.scalars(
            select(Article.article_id).where(Article.article_id.in_(list(article_ids)))
        )
        return set(rows)

    async def process_pending(
        self,
        *,
        report_ids: Sequence[int] = (),
        article_ids: Sequence[int] = (),
        status: ReportStatus,
        handler_id: int,
        now: datetime,
    ) -> int:
        """Pending reports (by id or of these articles) become ``status``; returns how many."""
        target = (
            Report.report_id.in_(list(report_ids))
            if report_ids
            else Report.article_id.in_(list(article_ids))
        )
        result = await self.session.execute(
            update(Report)
            .where(target, Report.status == ReportStatus.PENDING)
            .values(status=status, handler_id=handler_id, handle_time=now, update_time=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
