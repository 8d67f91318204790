"""SQL of the staff domain: accounts, groups, permissions and grants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    delete,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import (
    Administrator,
    AdministratorGroup,
    GroupPermission,
    OperationLog,
    Permission,
)
from toutiao.models.enums import PermissionType


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


async def paged(
    session: AsyncSession, stmt: Select[Any], order: list[Any], offset: int, limit: int
) -> tuple[list[Row[Any]], int]:
    """One page of ``stmt`` in ``order`` plus the total count of the unpaged query."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await session.execute(stmt.order_by(*order).offset(offset).limit(limit))).all()
    return list(rows), int(total or 0)


def administrators_query(where: list[ColumnElement[bool]]) -> Select[Any]:
    return (
        select(Administrator, AdministratorGroup.name)
        .outerjoin(AdministratorGroup, AdministratorGroup.group_id == Administrator.group_id)
        .where(*where)
    )


def groups_query(where: list[ColumnElement[bool]]) -> Select[Any]:
    return select(AdministratorGroup).where(*where)


def permissions_query(where: list[ColumnElement[bool]]) -> Select[Any]:
    return select(Permission).where(*where)


def logs_query(where: list[ColumnElement[bool]]) -> Select[Any]:
    return (
        select(OperationLog, Administrator.name)
        .outerjoin(Administrator, Administrator.administrator_id == OperationLog.administrator_id)
        .where(*where)
    )


async def existing_ids(session: AsyncSession, column: Any, ids: Iterable[int]) -> set[int]:
    wanted = list(ids)
    if not wanted:
        return set()
    return set((await session.scalars(select(column).where(column.in_(wanted)))).all())


async def delete_administrators(session: AsyncSession, ids: list[int]) -> list[int]:
    found = sorted(await existing_ids(session, Administrator.administrator_id, ids))
    if found:
        await session.execute(
            delete(Administrator).where(Administrator.administrator_id.in_(found))
        )
    return found


async def name_taken(
    session: AsyncSession, column: Any, value: str, pk: Any, exclude: int | None
) -> bool:
    stmt = select(pk).where(column == value)
    if exclude is not None:
        stmt = stmt.where(pk != exclude)
    return (await session.scalar(stmt.limit(1))) is not None


async def point_code_taken(session: AsyncSession, code: str, exclude: int | None) -> bool:
    stmt = select(Permission.permission_id).where(
        Permission.type == PermissionType.POINT, Permission.code == code
    )
    if exclude is not None:
        stmt = stmt.where(Permission.permission_id != exclude)
    return (await session.scalar(stmt.limit(1))) is not None


async def children_of(session: AsyncSession, parent_id: int) -> list[int]:
    stmt = select(Permission.permission_id).where(Permission.parent_id == parent_id)
    return list((await session.scalars(stmt)).all())


async def parents(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(select(Permission.permission_id, Permission.parent_id))
    return {row[0]: int(row[1]) for row in rows}


async def delete_permissions(session: AsyncSession, ids: list[int]) -> None:
    await session.execute(delete(GroupPermission).where(GroupPermission.permission_id.in_(ids)))
    await session.execute(delete(Permission).where(Permission.permission_id.in_(ids)))


async def delete_group(session: AsyncSession, group_id: int) -> None:
    await session.execute(delete(GroupPermission).where(GroupPermission.group_id == group_id))
    await session.execute(delete(AdministratorGroup).where(AdministratorGroup.group_id == group_id))
