"""SQL of the staff domain: accounts, groups, permissions and grants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import Administrator, AdministratorGroup, GroupPermission, Permission
from toutiao.models.enums import PermissionType, StaffStatus


@dataclass(frozen=True)
class Caller:
    """What the order of checks (mis.md §1.6) needs about the token's account, in one query."""

    administrator_id: int
    account: str
    name: str
    status: int
    group_id: int
    group_status: int | None  # None: the group is gone
    password_changed_at: datetime | None
    granted: bool


async def load_caller(session: AsyncSession, admin_id: int, code: str | None) -> Caller | None:
    granted = (
        exists()
        .where(
            GroupPermission.group_id == Administrator.group_id,
            GroupPermission.permission_id == Permission.permission_id,
            Permission.type == PermissionType.POINT,
            Permission.code == code,
        )
        .correlate(Administrator)
        if code is not None
        else literal(True)
    )
    stmt = (
        select(
            Administrator.administrator_id,
            Administrator.account,
            Administrator.name,
            Administrator.status,
            Administrator.group_id,
            AdministratorGroup.status,
            Administrator.password_changed_at,
            granted,
        )
        .outerjoin(AdministratorGroup, AdministratorGroup.group_id == Administrator.group_id)
        .where(Administrator.administrator_id == admin_id)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    group_status = None if row[5] is None else int(row[5])
    return Caller(row[0], row[1], row[2], int(row[3]), row[4], group_status, row[6], bool(row[7]))


async def account_by_name(
    session: AsyncSession, account: str, *, for_update: bool = False
) -> Administrator | None:
    stmt = select(Administrator).where(Administrator.account == account)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def group_status(session: AsyncSession, group_id: int) -> int | None:
    status = await session.scalar(
        select(AdministratorGroup.status).where(AdministratorGroup.group_id == group_id)
    )
    return None if status is None else int(status)


async def record_login(session: AsyncSession, admin_id: int, now: datetime) -> None:
    await session.execute(
        update(Administrator)
        .where(Administrator.administrator_id == admin_id)
        .values(last_login=now, access_count=Administrator.access_count + 1)
    )


async def all_permissions(session: AsyncSession) -> list[Permission]:
    stmt = select(Permission).order_by(Permission.sequence, Permission.permission_id)
    return list((await session.scalars(stmt)).all())


async def granted_ids(session: AsyncSession, group_id: int) -> set[int]:
    stmt = select(GroupPermission.permission_id).where(GroupPermission.group_id == group_id)
    return set((await session.scalars(stmt)).all())


async def grant(session: AsyncSession, group_id: int, permission_ids: Iterable[int]) -> None:
    for permission_id in permission_ids:
        session.add(GroupPermission(group_id=group_id, permission_id=permission_id))
    await session.flush()


async def revoke(session: AsyncSession, group_id: int, permission_ids: Iterable[int]) -> None:
    ids = list(permission_ids)
    if ids:
        await session.execute(
            delete(GroupPermission).where(
                and_(GroupPermission.group_id == group_id, GroupPermission.permission_id.in_(ids))
            )
        )


async def group_by_name(session: AsyncSession, name: str) -> AdministratorGroup | None:
    return await session.scalar(select(AdministratorGroup).where(AdministratorGroup.name == name))


async def count_members(session: AsyncSession, group_id: int) -> int:
    stmt = select(func.count()).where(Administrator.group_id == group_id)
    return int(await session.scalar(stmt) or 0)


ENABLED = StaffStatus.ENABLED
