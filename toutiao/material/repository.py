"""The image library's SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import Material
from toutiao.models.enums import MaterialStatus, MaterialType


@dataclass(frozen=True, slots=True)
class MaterialPage:
    rows: Sequence[Material]
    total: int


class MaterialRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> MaterialRepository:
        return cls(session)

    async def get(self, material_id: int, *, for_update: bool = False) -> Material | None:
        return await self.session.get(Material, material_id, with_for_update=for_update)

    async def by_hash(self, user_id: int, digest: str) -> Material | None:
        return await self.session.scalar(
            select(Material).where(Material.user_id == user_id, Material.hash == digest)
        )

    def add(self, material: Material) -> None:
        self.session.add(material)

    def _library(self, user_id: int, starred_only: bool) -> list[ColumnElement[bool]]:
        where = [
            Material.user_id == user_id,
            Material.type == MaterialType.IMAGE,
            Material.status != MaterialStatus.DELETED,
        ]
        if starred_only:
            where.append(Material.is_collected.is_(True))
        return where

    async def page_of_images(
        self, user_id: int, *, starred_only: bool, offset: int, limit: int
    ) -> MaterialPage:
        """Newest first (creation time, then id), and the size of the whole list."""
        where = self._library(user_id, starred_only)
        total = await self.session.scalar(select(func.count()).select_from(Material).where(*where))
        rows = await self.session.scalars(
            select(Material)
            .where(*where)
            .order_by(Material.create_time.desc(), Material.material_id.desc())
            .offset(offset)
            .limit(limit)
        )
        return MaterialPage(rows=list(rows), total=int(total or 0))
