"""SQL of channels as staff manage them (mis M31-M36)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.like import contains
from toutiao.models import Article, Channel, User, UserChannel
from toutiao.models.enums import ArticleStatus

ORDERS: dict[str | None, tuple[Any, ...]] = {
    None: (Channel.update_time.desc(), Channel.channel_id.desc()),
    "id": (Channel.channel_id,),
    "sequence": (Channel.sequence, Channel.channel_id),
}


@dataclass(frozen=True)
class ChannelFilter:
    channel_id: int | None = None
    keyword: str | None = None  # substring of the name
    is_visible: bool | None = None
    is_default: bool | None = None
    order_by: str | None = None


@dataclass(frozen=True)
class PinnedRow:
    article_id: int
    title: str
    status: ArticleStatus
    user_id: int
    author_name: str
    channel_id: int
    channel_name: str | None


class ChannelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> ChannelRepository:
        return cls(session)

    def _where(self, where: ChannelFilter) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if where.channel_id is not None:
            found.append(Channel.channel_id == where.channel_id)
        if where.keyword:
            found.append(contains(Channel.channel_name, where.keyword))
        if where.is_visible is not None:
            found.append(Channel.is_visible.is_(where.is_visible))
        if where.is_default is not None:
            found.append(Channel.is_default.is_(where.is_default))
        return found

    async def page(
        self, where: ChannelFilter, *, offset: int, limit: int
    ) -> tuple[Sequence[Channel], int]:
        conditions = self._where(where)
        total = await self.session.scalar(
            select(func.count()).select_from(Channel).where(*conditions)
        )
        rows = await self.session.scalars(
            select(Channel)
            .where(*conditions)
            .order_by(*ORDERS[where.order_by])
            .offset(offset)
            .limit(limit)
        )
        return rows.all(), int(total or 0)

    async def article_counts(self, channel_ids: Sequence[int]) -> dict[int, int]:
        """Articles of any status per channel, in one grouped query."""
        if not channel_ids:
            return {}
        rows = await self.session.execute(
            select(Article.channel_id, func.count())
            .where(Article.channel_id.in_(list(channel_ids)))
            .group_by(Article.channel_id)
        )
        return {int(channel_id): int(count) for channel_id, count in rows}

    async def get(self, channel_id: int) -> Channel | None:
        return await self.session.get(Channel, channel_id)

    async def name_taken(self, name: str, *, other_than: int | None = None) -> bool:
        query = select(Channel.channel_id).where(func.lower(Channel.channel_name) == name.lower())
        if other_than is not None:
            query = query.where(Channel.channel_id != other_than)
        return (await self.session.scalar(query.limit(1))) is not None

    async def has_articles(self, channel_id: int) -> bool:
        query = select(Article.article_id).where(Article.channel_id == channel_id).limit(1)
        return (await self.session.scalar(query)) is not None

    async def delete(self, channel_id: int) -> bool:
        await self.session.execute(delete(UserChannel).where(UserChannel.channel_id == channel_id))
        result = await self.session.execute(delete(Channel).where(Channel.channel_id == channel_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def subscribers(self, channel_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(UserChannel.user_id).where(UserChannel.channel_id == channel_id)
        )
        return list(rows)

    async def pinned_rows(self, article_ids: Sequence[int]) -> dict[int, PinnedRow]:
        if not article_ids:
            return {}
        rows = await self.session.execute(
            select(
                Article.article_id,
                Article.title,
                Article.status,
                Article.user_id,
                User.user_name,
                Article.channel_id,
                Channel.channel_name,
            )
            .join(User, User.user_id == Article.user_id)
            .outerjoin(Channel, Channel.channel_id == Article.channel_id)
            .where(Article.article_id.in_(list(article_ids)))
        )
        return {row[0]: PinnedRow(*row) for row in rows}
