"""Seeding (mis.md §1.7): the permission tree, the super-admin group, the first account.

Idempotent: menus are matched by name and permission points by code; what exists is left
as it is, except that the super-admin group is granted every built-in code it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import passwords
from toutiao.models import Administrator, AdministratorGroup, Permission
from toutiao.models.enums import PermissionType, StaffStatus
from toutiao.staff import repository
from toutiao.staff.auth import next_password_change
from toutiao.staff.catalog import SUPER_GROUP, TREE, Menu

DEMO_ACCOUNT = "admin"
DEMO_PASSWORD = "admin246810"


@dataclass(frozen=True)
class SeedReport:
    permissions_created: int
    group_created: bool
    account_created: bool
    administrator_id: int


async def _ensure_menu(
    session: AsyncSession, menu: Menu, parent_id: int, menus: dict[str, Permission]
) -> int:
    created = 0
    row = menus.get(menu.name)
    if row is None:
        row = Permission(
            name=menu.name,
            type=PermissionType.MENU,
            parent_id=parent_id,
            code=menu.code,
            sequence=menu.sequence,
        )
        session.add(row)
        await session.flush()
        menus[menu.name] = row
        created += 1
    for code in menu.points:
        if await session.scalar(
            select(Permission.permission_id).where(
                Permission.type == PermissionType.POINT, Permission.code == code
            )
        ):
            continue
        session.add(
            Permission(name=code, type=PermissionType.POINT, parent_id=row.permission_id, code=code)
        )
        created += 1
    for child in menu.children:
        created += await _ensure_menu(session, child, row.permission_id, menus)
    return created


async def ensure_tree(session: AsyncSession) -> int:
    """Create the missing built-in entries; returns how many were created."""
    existing = await session.scalars(
        select(Permission).where(Permission.type == PermissionType.MENU)
    )
    menus = {row.name: row for row in existing}
    created = 0
    for menu in TREE:
        created += await _ensure_menu(session, menu, 0, menus)
    await session.flush()
    return created


async def ensure_super_group(session: AsyncSession) -> tuple[AdministratorGroup, bool]:
    """The super-admin group, holding every permission point and menu there is."""
    group = await repository.group_by_name(session, SUPER_GROUP)
    created = group is None
    if group is None:
        group = AdministratorGroup(name=SUPER_GROUP, status=StaffStatus.ENABLED, remark="")
        session.add(group)
        await session.flush()
    every = set((await session.scalars(select(Permission.permission_id))).all())
    missing = every - await repository.granted_ids(session, group.group_id)
    await repository.grant(session, group.group_id, sorted(missing))
    return group, created


async def create_admin(
    session: AsyncSession, account: str, password: str, name: str | None = None
) -> SeedReport:
    """Seed the tree and the super-admin group; create ``account`` in it unless it exists
    (an existing account is left untouched: use reset-password to change its password)."""
    created = await ensure_tree(session)
    group, group_created = await ensure_super_group(session)
    admin = await repository.account_by_name(session, account)
    account_created = admin is None
    if admin is None:
        admin = Administrator(
            account=account,
            password=passwords.hash_password(password),
            password_changed_at=next_password_change(None),
            name=name or account,
            group_id=group.group_id,
            status=StaffStatus.ENABLED,
            access_count=0,
        )
        session.add(admin)
        await session.flush()
    return SeedReport(created, group_created, account_created, admin.administrator_id)


async def reset_password(session: AsyncSession, account: str, password: str) -> bool:
    """Set a new password (tokens issued before stop working); False if no such account."""
    admin = await repository.account_by_name(session, account, for_update=True)
    if admin is None:
        return False
    admin.password = passwords.hash_password(password)
    admin.password_changed_at = next_password_change(admin.password_changed_at)
    return True
