"""SQL of the user domain for staff work: lists, status changes, verification requests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import User, UserLegalizeLog, UserProfile, UserQualification
from toutiao.models.enums import LegalizeStatus, UserStatus


async def existing_user_ids(session: AsyncSession, user_ids: Iterable[int]) -> set[int]:
    wanted = list(user_ids)
    stmt = select(User.user_id).where(User.user_id.in_(wanted))
    return set((await session.scalars(stmt)).all())


async def set_status(session: AsyncSession, user_ids: list[int], status: UserStatus) -> None:
    await session.execute(update(User).where(User.user_id.in_(user_ids)).values(status=status))


async def paged(
    session: AsyncSession, stmt: Select[Any], order: list[Any], offset: int, limit: int
) -> tuple[list[Row[Any]], int]:
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await session.execute(stmt.order_by(*order).offset(offset).limit(limit))).all()
    return list(rows), int(total or 0)


def users_query(where: list[ColumnElement[bool]]) -> Select[Any]:
    return select(User).where(*where)


async def taken(session: AsyncSession, column: Any, value: str) -> bool:
    return (await session.scalar(select(User.user_id).where(column == value).limit(1))) is not None


async def user_with_profile(
    session: AsyncSession, user_id: int
) -> tuple[User, UserProfile | None] | None:
    stmt = (
        select(User, UserProfile)
        .outerjoin(UserProfile, UserProfile.user_id == User.user_id)
        .where(User.user_id == user_id)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


def legalizes_query(where: list[ColumnElement[bool]]) -> Select[Any]:
    return (
        select(UserLegalizeLog, User.account, User.user_name)
        .join(User, User.user_id == UserLegalizeLog.user_id)
        .where(*where)
    )


async def legalizes_for_update(session: AsyncSession, ids: list[int]) -> list[UserLegalizeLog]:
    stmt = (
        select(UserLegalizeLog)
        .where(UserLegalizeLog.legalize_id.in_(ids))
        .order_by(UserLegalizeLog.legalize_id)
        .with_for_update()
    )
    return list((await session.scalars(stmt)).all())


async def decide_legalizes(
    session: AsyncSession, ids: list[int], status: LegalizeStatus, reason: str | None
) -> int:
    """Conditional on status 1: a request decided meanwhile is not counted."""
    result = await session.execute(
        update(UserLegalizeLog)
        .where(
            UserLegalizeLog.legalize_id.in_(ids),
            UserLegalizeLog.status == LegalizeStatus.PROCESSING,
        )
        .values(status=status, reject_reason=reason)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def qualification(
    session: AsyncSession, qualification_id: int | None
) -> UserQualification | None:
    if qualification_id is None:
        return None
    return await session.get(UserQualification, qualification_id)
