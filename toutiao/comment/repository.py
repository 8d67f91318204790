"""SQL of comment moderation and of the per-article "comments from fans" counter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.like import contains
from toutiao.models import Article, ArticleStatistic, Comment, User, UserRelation
from toutiao.models.enums import CommentStatus, Relation


@dataclass(frozen=True)
class StaffCommentFilter:
    """What staff filter comments by (mis M40); None = any."""

    status: CommentStatus | None = None
    article_id: int | None = None
    user_id: int | None = None
    keyword: str | None = None  # substring of the content
    is_reply: bool | None = None
    begin: datetime | None = None
    end: datetime | None = None
    by_id: bool = False


@dataclass(frozen=True)
class StaffCommentRow:
    comment: Comment
    article_title: str | None
    user_name: str | None


@dataclass(frozen=True, slots=True)
class CommentPage:
    rows: Sequence[Comment]
    total: int


class CommentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> CommentRepository:
        return cls(session)

    async def get(self, comment_id: int, *, for_update: bool = False) -> Comment | None:
        return await self.session.get(Comment, comment_id, with_for_update=for_update)

    async def article_owner(self, article_id: int) -> int | None:
        return await self.session.scalar(
            select(Article.user_id).where(Article.article_id == article_id)
        )

    async def page_of_article(self, article_id: int, *, offset: int, limit: int) -> CommentPage:
        """Published top-level comments of an article: pinned first, then newest first."""
        where = (
            Comment.article_id == article_id,
            Comment.parent_id.is_(None),
            Comment.status == CommentStatus.APPROVED,
        )
        total = await self.session.scalar(select(func.count()).select_from(Comment).where(*where))
        rows = await self.session.scalars(
            select(Comment)
            .where(*where)
            .order_by(Comment.is_top.desc(), Comment.comment_id.desc())
            .offset(offset)
            .limit(limit)
        )
        return CommentPage(rows=list(rows), total=int(total or 0))

    async def published_replies(self, parent_id: int) -> list[Comment]:
        rows = await self.session.scalars(
            select(Comment)
            .where(Comment.parent_id == parent_id, Comment.status == CommentStatus.APPROVED)
            .with_for_update()
        )
        return list(rows)

    async def mark_deleted(self, comment_ids: Sequence[int]) -> None:
        if comment_ids:
            await self.session.execute(
                update(Comment)
                .where(Comment.comment_id.in_(list(comment_ids)))
                .values(status=CommentStatus.DELETED)
                .execution_options(synchronize_session="fetch")
            )

    async def followers_among(self, author_id: int, user_ids: Sequence[int]) -> set[int]:
        """Which of ``user_ids`` follow ``author_id`` now."""
        if not user_ids:
            return set()
        rows = await self.session.scalars(
            select(UserRelation.user_id).where(
                UserRelation.target_user_id == author_id,
                UserRelation.relation == Relation.FOLLOW,
                UserRelation.user_id.in_(sorted(set(user_ids))),
            )
        )
        return set(rows)

    async def add_fans_comments(self, article_id: int, delta: int) -> None:
        """Move ``news_article_statistic.fans_comment_count`` by ``delta`` (never below 0),
        creating the article's statistic row when it has none yet."""
        column = ArticleStatistic.fans_comment_count
        moved = case((column + delta < 0, 0), else_=column + delta)
        statement = (
            update(ArticleStatistic)
            .where(ArticleStatistic.article_id == article_id)
            .values(fans_comment_count=moved)
            .execution_options(synchronize_session=False)
        )
        if (await self.session.execute(statement)).rowcount or delta <= 0:
            return
        try:
            async with self.session.begin_nested():
                self.session.add(ArticleStatistic(article_id=article_id, fans_comment_count=delta))
        except IntegrityError:  # created meanwhile by another comment
            await self.session.execute(statement)

    # -- staff moderation (mis M40, M41) ------------------------------------------------------

    def _staff_where(self, where: StaffCommentFilter) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if where.status is not None:
            found.append(Comment.status == where.status)
        if where.article_id is not None:
            found.append(Comment.article_id == where.article_id)
        if where.user_id is not None:
            found.append(Comment.user_id == where.user_id)
        if where.keyword:
            found.append(contains(Comment.content, where.keyword))
        if where.is_reply is not None:
            parent = Comment.parent_id
            found.append(parent.is_not(None) if where.is_reply else parent.is_(None))
        if where.begin is not None:
            found.append(Comment.create_time >= where.begin)
        if where.end is not None:
            found.append(Comment.create_time <= where.end)
        return found

    async def staff_page(
        self, where: StaffCommentFilter, *, offset: int, limit: int
    ) -> tuple[list[StaffCommentRow], int]:
        conditions = self._staff_where(where)
        total = await self.session.scalar(
            select(func.count()).select_from(Comment).where(*conditions)
        )
        order: tuple[Any, ...] = (
            (Comment.comment_id,) if where.by_id else (Comment.comment_id.desc(),)
        )
        rows = await self.session.execute(
            select(Comment, Article.title, User.user_name)
            .outerjoin(Article, Article.article_id == Comment.article_id)
            .outerjoin(User, User.user_id == Comment.user_id)
            .where(*conditions)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
        return [StaffCommentRow(*row) for row in rows], int(total or 0)

    async def lock_many(self, comment_ids: Sequence[int]) -> dict[int, Comment]:
        rows = await self.session.scalars(
            select(Comment)
            .where(Comment.comment_id.in_(list(comment_ids)))
            .order_by(Comment.comment_id)
            .with_for_update()
        )
        return {row.comment_id: row for row in rows}

    async def move_status(
        self, comment_id: int, expected: CommentStatus, status: CommentStatus
    ) -> bool:
        """Conditional on the status read: a parallel moderator makes this fail (409)."""
        result = await self.session.execute(
            update(Comment)
            .where(Comment.comment_id == comment_id, Comment.status == expected)
            .values(status=status)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
