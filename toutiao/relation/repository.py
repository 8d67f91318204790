"""SQL over an author's followers: who they are, counted by profile fields."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import UserProfile, UserRelation
from toutiao.models.enums import Gender, Relation


class FollowerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> FollowerRepository:
        return cls(session)

    def _grouped(self, author_id: int, column: Any) -> Any:
        return (
            select(column, func.count())
            .select_from(UserRelation)
            .outerjoin(UserProfile, UserProfile.user_id == UserRelation.user_id)
            .where(
                UserRelation.target_user_id == author_id,
                UserRelation.relation == Relation.FOLLOW,
            )
            .group_by(column)
        )

    async def by_gender(self, author_id: int) -> dict[Gender | None, int]:
        """Followers per gender; ``None``: no profile row."""
        rows = await self.session.execute(self._grouped(author_id, UserProfile.gender))
        return {
            (Gender(gender) if gender is not None else None): int(count) for gender, count in rows
        }

    async def by_birthday(self, author_id: int) -> list[tuple[date | None, int]]:
        rows = await self.session.execute(self._grouped(author_id, UserProfile.birthday))
        return [(birthday, int(count)) for birthday, count in rows]

    async def by_area(self, author_id: int) -> list[tuple[str | None, int]]:
        rows = await self.session.execute(self._grouped(author_id, UserProfile.area))
        return [(area, int(count)) for area, count in rows]
