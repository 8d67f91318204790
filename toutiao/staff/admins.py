"""Staff account management (mis.md M07-M12)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import passwords
from toutiao.kit.errors import BadRequest, Conflict, Forbidden, NotFound
from toutiao.kit.like import any_contains
from toutiao.models import Administrator, AdministratorGroup
from toutiao.models.enums import StaffStatus
from toutiao.staff import policy, repository
from toutiao.staff.accounts import AdministratorOut, administrator_out, one, set_password


@dataclass(frozen=True)
class AdminQuery:
    keyword: str | None = None
    status: int | None = None
    group_id: int | None = None
    order_by: str | None = None  # "id" or None (last update first)


async def list_admins(
    session: AsyncSession, query: AdminQuery, offset: int, limit: int
) -> tuple[list[AdministratorOut], int]:
    where: list[ColumnElement[bool]] = []
    if query.keyword:
        where.append(any_contains([Administrator.account, Administrator.name], query.keyword))
    if query.status is not None:
        where.append(Administrator.status == StaffStatus(query.status))
    if query.group_id is not None:
        where.append(Administrator.group_id == query.group_id)
    order = (
        [Administrator.administrator_id]
        if query.order_by == "id"
        else [Administrator.update_time.desc(), Administrator.administrator_id.desc()]
    )
    rows, total = await repository.paged(
        session, repository.administrators_query(where), order, offset, limit
    )
    return [administrator_out(row[0], row[1]) for row in rows], total


async def _check_group(session: AsyncSession, group_id: int) -> None:
    if await session.get(AdministratorGroup, group_id) is None:
        raise BadRequest("group_id: no such group")


async def _check_account(session: AsyncSession, account: str, exclude: int | None) -> None:
    pk = Administrator.administrator_id
    if await repository.name_taken(session, Administrator.account, account, pk, exclude):
        raise Conflict("Account already exists.")


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:  # a parallel request took the same account
        raise Conflict("Account already exists.") from exc


async def create(session: AsyncSession, fields: dict[str, Any]) -> AdministratorOut:
    """M08: fields are validated by the surface; the group must exist, the account be free."""
    await _check_group(session, fields["group_id"])
    await _check_account(session, fields["account"], None)
    admin = Administrator(
        account=fields["account"],
        name=fields["name"],
        group_id=fields["group_id"],
        email=fields.get("email"),
        mobile=fields.get("mobile"),
        status=StaffStatus(fields.get("status", 1)),
        access_count=0,
    )
    set_password(admin, fields["password"])
    session.add(admin)
    await _flush(session)
    return await one(session, admin.administrator_id)


async def delete_many(session: AsyncSession, caller_id: int, ids: list[int]) -> list[int]:
    """M09/M12: hard delete; unknown ids are ignored; returns the ids deleted."""
    policy.check_may_delete(caller_id, ids)
    return await repository.delete_administrators(session, ids)


async def update(
    session: AsyncSession,
    caller_id: int,
    target_id: int,
    changes: dict[str, Any],
    current_password: str | None,
) -> tuple[AdministratorOut, list[str]]:
    """M11: only the sent fields change; returns the account and the changed field names."""
    admin = await session.get(Administrator, target_id, with_for_update=True)
    if admin is None:
        raise NotFound("Administrator not found.")
    policy.check_may_update(caller_id, target_id, changes)
    if policy.needs_current_password(caller_id, target_id, changes) and not (
        current_password and passwords.verify_password(admin.password, current_password)
    ):
        raise Forbidden("Wrong current password.")
    if "group_id" in changes:
        await _check_group(session, changes["group_id"])
    if "account" in changes:
        await _check_account(session, changes["account"], target_id)
    for field, value in changes.items():
        if field == "password":
            set_password(admin, value)
        elif field == "status":
            admin.status = StaffStatus(value)
        else:
            setattr(admin, field, value)
    await _flush(session)
    return await one(session, target_id), sorted(changes)
