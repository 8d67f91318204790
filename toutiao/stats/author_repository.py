"""SQL of the author analytics: per-article snapshots, per-status counts, totals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import Article, ArticleStatistic, Collection, Comment
from toutiao.models.enums import ArticleStatus, CommentStatus


class AuthorStatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> AuthorStatsRepository:
        return cls(session)

    async def snapshots(self, article_ids: Sequence[int]) -> dict[int, ArticleStatistic]:
        """``news_article_statistic`` rows: the fallback of the live counters."""
        if not article_ids:
            return {}
        rows = await self.session.scalars(
            select(ArticleStatistic).where(ArticleStatistic.article_id.in_(list(article_ids)))
        )
        return {row.article_id: row for row in rows}

    async def comment_counts(self, article_ids: Sequence[int]) -> dict[int, int]:
        """Published comments and replies per article (when Redis is down)."""
        if not article_ids:
            return {}
        rows = await self.session.execute(
            select(Comment.article_id, func.count())
            .where(
                Comment.article_id.in_(list(article_ids)),
                Comment.status == CommentStatus.APPROVED,
            )
            .group_by(Comment.article_id)
        )
        return {int(article_id): int(count) for article_id, count in rows}

    async def status_counts(self, author_id: int) -> dict[ArticleStatus, int]:
        rows = await self.session.execute(
            select(Article.status, func.count())
            .where(Article.user_id == author_id)
            .group_by(Article.status)
        )
        return {ArticleStatus(status): int(count) for status, count in rows}

    async def comments_received(self, author_id: int) -> int:
        """Published comments and replies on the author's articles that are not deleted."""
        count = await self.session.scalar(
            select(func.count())
            .select_from(Comment)
            .join(Article, Article.article_id == Comment.article_id)
            .where(
                Article.user_id == author_id,
                Article.status != ArticleStatus.DELETED,
                Comment.status == CommentStatus.APPROVED,
            )
        )
        return int(count or 0)

    async def collections_received(self, author_id: int) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Collection)
            .join(Article, Article.article_id == Collection.article_id)
            .where(
                Article.user_id == author_id,
                Article.status != ArticleStatus.DELETED,
                Collection.is_deleted.is_(False),
            )
        )
        return int(count or 0)
