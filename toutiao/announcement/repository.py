"""SQL of announcements as staff manage them (mis M45-M50)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.like import contains
from toutiao.models import Announcement
from toutiao.models.enums import AnnouncementStatus


@dataclass(frozen=True)
class AnnouncementFilter:
    status: AnnouncementStatus | None = None
    keyword: str | None = None  # substring of the title
    by_id: bool = False  # id ascending; else last update first


class AnnouncementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> AnnouncementRepository:
        return cls(session)

    def _where(self, where: AnnouncementFilter) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if where.status is not None:
            found.append(Announcement.status == where.status)
        if where.keyword:
            found.append(contains(Announcement.title, where.keyword))
        return found

    async def page(
        self, where: AnnouncementFilter, *, offset: int, limit: int
    ) -> tuple[Sequence[Announcement], int]:
        conditions = self._where(where)
        total = await self.session.scalar(
            select(func.count()).where(*conditions).select_from(Announcement)
        )
        order: Sequence[Any] = (
            (Announcement.announcement_id,)
            if where.by_id
            else (Announcement.update_time.desc(), Announcement.announcement_id.desc())
        )
        query: Select[Any] = select(Announcement).where(*conditions).order_by(*order)
        rows = await self.session.scalars(query.offset(offset).limit(limit))
        return rows.all(), int(total or 0)

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)

    def add(self, announcement: Announcement) -> None:
        self.session.add(announcement)

    async def move(
        self,
        announcement_id: int,
        expected: Sequence[AnnouncementStatus],
        values: dict[str, Any],
    ) -> bool:
        """Change one row only if its status is one of ``expected``: two staff members acting
        at once cannot both succeed."""
        result = await self.session.execute(
            update(Announcement)
            .where(
                Announcement.announcement_id == announcement_id,
                Announcement.status.in_([int(s) for s in expected]),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_unpublished(self, announcement_id: int) -> bool:
        result = await self.session.execute(
            delete(Announcement).where(
                Announcement.announcement_id == announcement_id,
                Announcement.status != AnnouncementStatus.PUBLISHED,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def refresh(self, announcement: Announcement) -> None:
        await self.session.refresh(announcement)
