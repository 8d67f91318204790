"""Staff accounts: the Administrator shape, one's own profile and password (M04-M06)."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import passwords
from toutiao.kit.errors import BadRequest, Forbidden, NotFound
from toutiao.models import Administrator, AdministratorGroup
from toutiao.runtime import Runtime
from toutiao.staff.auth import next_password_change, password_version
from toutiao.staff.tokens import issue_pair


class AdministratorOut(TypedDict):
    administrator_id: int
    account: str
    name: str
    email: str | None
    mobile: str | None
    group_id: int
    group_name: str | None
    access_count: int
    status: int
    last_login: str | None


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def administrator_out(admin: Administrator, group_name: str | None) -> AdministratorOut:
    return {
        "administrator_id": admin.administrator_id,
        "account": admin.account,
        "name": admin.name,
        "email": admin.email,
        "mobile": admin.mobile,
        "group_id": admin.group_id,
        "group_name": group_name,
        "access_count": int(admin.access_count or 0),
        "status": int(admin.status),
        "last_login": iso(admin.last_login),
    }


async def load(session: AsyncSession, admin_id: int) -> tuple[Administrator, str | None] | None:
    stmt = (
        select(Administrator, AdministratorGroup.name)
        .outerjoin(AdministratorGroup, AdministratorGroup.group_id == Administrator.group_id)
        .where(Administrator.administrator_id == admin_id)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def one(session: AsyncSession, admin_id: int) -> AdministratorOut:
    found = await load(session, admin_id)
    if found is None:
        raise NotFound("Administrator not found.")
    return administrator_out(*found)


def set_password(admin: Administrator, password: str) -> None:
    """Store a new hash and move the password version on: older tokens stop working."""
    if not passwords.meets_policy(password):
        raise BadRequest(
            "password: 8-64 characters without spaces, with at least one letter and one digit"
        )
    admin.password = passwords.hash_password(password)
    admin.password_changed_at = next_password_change(admin.password_changed_at)


async def change_own_password(
    runtime: Runtime, session: AsyncSession, admin_id: int, old: str, new: str
) -> dict[str, str]:
    """M04: the old password must match; the answer is a fresh token pair."""
    admin = await session.get(Administrator, admin_id, with_for_update=True)
    if admin is None:
        raise NotFound("Administrator not found.")
    if not passwords.verify_password(admin.password, old):
        raise Forbidden("Wrong old password.")
    if old == new:
        raise BadRequest("password: the new password equals the old one")
    set_password(admin, new)
    version = password_version(admin.password_changed_at)
    return issue_pair(runtime.settings, admin_id, version)


async def update_profile(
    session: AsyncSession, admin_id: int, changes: dict[str, str | None]
) -> AdministratorOut:
    """M06: name, email, mobile (already validated; None clears email and mobile)."""
    admin = await session.get(Administrator, admin_id, with_for_update=True)
    if admin is None:
        raise NotFound("Administrator not found.")
    for field, value in changes.items():
        setattr(admin, field, value)
    await session.flush()
    return await one(session, admin_id)
