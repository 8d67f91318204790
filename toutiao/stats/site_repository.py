"""Live counts of the site for the dashboard (M56) and the search totals (M53)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.like import contains
from toutiao.models import (
    Article,
    Channel,
    Comment,
    Report,
    StatisticsReadSourceTotal,
    StatisticsSalesTotal,
    StatisticsSearch,
    StatisticsSearchTotal,
    User,
    UserLegalizeLog,
)
from toutiao.models.enums import (
    ArticleStatus,
    CommentStatus,
    LegalizeStatus,
    ReportStatus,
    UserStatus,
)


@dataclass(frozen=True)
class LiveCounts:
    """The dashboard's current figures (M56 ``totals`` and ``pending``)."""

    user_count: int
    frozen_user_count: int
    media_user_count: int
    verified_user_count: int
    approved_article_count: int
    visible_channel_count: int
    pending_article_count: int
    pending_legalize_count: int
    report_article_count: int
    pending_comment_count: int


@dataclass(frozen=True)
class KeywordTotal:
    keyword: str
    count: int
    user_count: int


def _as_date(value: Any) -> date:
    """``DATE(x)`` is a date on MySQL and a ``YYYY-MM-DD`` string on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class SiteCountsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> SiteCountsRepository:
        return cls(session)

    async def live_counts(self) -> LiveCounts:
        """Every figure in ONE statement of scalar subqueries (one round trip)."""

        def count(model: Any, *where: Any, what: Any = None) -> Any:
            return (
                select(what if what is not None else func.count())
                .select_from(model)
                .where(*where)
                .scalar_subquery()
            )

        row = (
            await self.session.execute(
                select(
                    count(User),
                    count(User, User.status == UserStatus.DISABLED),
                    count(User, User.is_media.is_(True)),
                    count(User, User.is_verified.is_(True)),
                    count(Article, Article.status == ArticleStatus.APPROVED),
                    count(Channel, Channel.is_visible.is_(True)),
                    count(Article, Article.status == ArticleStatus.PENDING),
                    count(UserLegalizeLog, UserLegalizeLog.status == LegalizeStatus.PROCESSING),
                    count(
                        Report,
                        Report.status == ReportStatus.PENDING,
                        what=func.count(func.distinct(Report.article_id)),
                    ),
                    count(Comment, Comment.status == CommentStatus.PENDING),
                )
            )
        ).one()
        return LiveCounts(*(int(v or 0) for v in row))

    async def user_count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(User)) or 0)

    async def submitted_articles_per_day(self, begin: date, end: date) -> dict[date, int]:
        """Articles created each day that are not drafts now. The statuses are listed (not
        ``!= draft``) so that the ``(status, create_time)`` index answers alone."""
        day = func.date(Article.create_time)
        submitted = [int(s) for s in ArticleStatus if s != ArticleStatus.DRAFT]
        rows = await self.session.execute(
            select(day, func.count())
            .where(
                Article.status.in_(submitted),
                Article.create_time >= datetime.combine(begin, datetime.min.time()),
                Article.create_time
                < datetime.combine(end + timedelta(days=1), datetime.min.time()),
            )
            .group_by(day)
        )
        return {_as_date(d): int(count) for d, count in rows}

    # -- search keywords (M52, M53) -----------------------------------------------------------

    def _keywords(self, keyword: str | None) -> Select[Any]:
        query = select(StatisticsSearchTotal)
        if keyword:
            query = query.where(contains(StatisticsSearchTotal.keyword, keyword))
        return query

    async def keyword_page(
        self, keyword: str | None, *, offset: int, limit: int
    ) -> tuple[list[KeywordTotal], int]:
        base = self._keywords(keyword)
        total = await self.session.scalar(select(func.count()).select_from(base.subquery()))
        rows = await self.session.scalars(
            base.order_by(
                StatisticsSearchTotal.count.desc(),
                StatisticsSearchTotal.keyword,
                StatisticsSearchTotal.id,
            )
            .offset(offset)
            .limit(limit)
        )
        found = [KeywordTotal(r.keyword, int(r.count), int(r.user_count)) for r in rows]
        return found, int(total or 0)

    async def keyword_users_between(
        self, keywords: list[str], begin: datetime, middle: datetime, end: datetime
    ) -> dict[str, tuple[int, int]]:
        """Per keyword: searching users in ``[begin, middle)`` and in ``[middle, end)``."""
        if not keywords:
            return {}
        moment = StatisticsSearch.date_time
        earlier = case((moment < middle, StatisticsSearch.user_count), else_=0)
        later = case((moment >= middle, StatisticsSearch.user_count), else_=0)
        rows = await self.session.execute(
            select(StatisticsSearch.keyword, func.sum(earlier), func.sum(later))
            .where(StatisticsSearch.keyword.in_(keywords), moment >= begin, moment < end)
            .group_by(StatisticsSearch.keyword)
        )
        return {k: (int(a or 0), int(b or 0)) for k, a, b in rows}

    async def all_searches(self) -> int:
        total = await self.session.scalar(select(func.sum(StatisticsSearchTotal.count)))
        return int(total or 0)

    # -- imported and accumulated totals (M54, M55) --------------------------------------------

    async def sales(self) -> list[tuple[int, int]]:
        rows = await self.session.execute(
            select(StatisticsSalesTotal.area, StatisticsSalesTotal.money)
        )
        return [(int(area), int(money or 0)) for area, money in rows]

    async def read_sources(self) -> list[StatisticsReadSourceTotal]:
        return list(await self.session.scalars(select(StatisticsReadSourceTotal)))
