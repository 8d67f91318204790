"""Groups (roles) and their grants (mis.md M13-M17).

Grants are read from the database on every request (repository.load_caller), so a change
here takes effect on the caller's next request without any cache to invalidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.errors import BadRequest, Conflict, NotFound
from toutiao.kit.like import contains
from toutiao.models import AdministratorGroup, Permission
from toutiao.models.enums import StaffStatus
from toutiao.staff import policy, repository
from toutiao.staff.tree import TreeNode, build_tree


class GroupOut(TypedDict):
    group_id: int
    name: str
    remark: str
    status: int


def group_out(group: AdministratorGroup) -> GroupOut:
    return {
        "group_id": group.group_id,
        "name": group.name,
        "remark": group.remark or "",
        "status": int(group.status),
    }


@dataclass(frozen=True)
class GroupQuery:
    keyword: str | None = None
    status: int | None = None
    order_by: str | None = None


async def list_groups(
    session: AsyncSession, query: GroupQuery, offset: int, limit: int
) -> tuple[list[GroupOut], int]:
    where: list[ColumnElement[bool]] = []
    if query.keyword:
        where.append(contains(AdministratorGroup.name, query.keyword))
    if query.status is not None:
        where.append(AdministratorGroup.status == StaffStatus(query.status))
    order = (
        [AdministratorGroup.group_id]
        if query.order_by == "id"
        else [AdministratorGroup.update_time.desc(), AdministratorGroup.group_id.desc()]
    )
    rows, total = await repository.paged(
        session, repository.groups_query(where), order, offset, limit
    )
    return [group_out(row[0]) for row in rows], total


async def _check_permissions(session: AsyncSession, ids: list[int]) -> None:
    found = await repository.existing_ids(session, Permission.permission_id, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise BadRequest(f"permission_ids: unknown ids {', '.join(map(str, missing))}")


async def _check_name(session: AsyncSession, name: str, exclude: int | None) -> None:
    pk = AdministratorGroup.group_id
    if await repository.name_taken(session, AdministratorGroup.name, name, pk, exclude):
        raise Conflict("Group name already exists.")


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("Group name already exists.") from exc


async def create(session: AsyncSession, fields: dict[str, Any]) -> GroupOut:
    """M14: the group and its grants in one transaction."""
    permission_ids: list[int] = fields.get("permission_ids") or []
    await _check_permissions(session, permission_ids)
    await _check_name(session, fields["name"], None)
    group = AdministratorGroup(
        name=fields["name"],
        remark=fields.get("remark") or "",
        status=StaffStatus(fields.get("status", 1)),
    )
    session.add(group)
    await _flush(session)
    await repository.grant(session, group.group_id, permission_ids)
    return group_out(group)


async def one(session: AsyncSession, group_id: int) -> tuple[GroupOut, list[TreeNode]]:
    group = await session.get(AdministratorGroup, group_id)
    if group is None:
        raise NotFound("Group not found.")
    rows = await repository.all_permissions(session)
    return group_out(group), build_tree(rows, await repository.granted_ids(session, group_id))


@dataclass(frozen=True)
class GroupChange:
    group: GroupOut
    fields: list[str]
    added: int
    removed: int


async def update(
    session: AsyncSession, caller_group_id: int, group_id: int, changes: dict[str, Any]
) -> GroupChange:
    """M16: sent fields change; ``permission_ids`` replaces the grants exactly."""
    group = await session.get(AdministratorGroup, group_id, with_for_update=True)
    if group is None:
        raise NotFound("Group not found.")
    policy.check_group_change(caller_group_id, group_id, changes.get("status"))
    permission_ids: list[int] | None = changes.pop("permission_ids", None)
    if "name" in changes:
        await _check_name(session, changes["name"], group_id)
    added = removed = 0
    if permission_ids is not None:
        await _check_permissions(session, permission_ids)
        current = await repository.granted_ids(session, group_id)
        wanted = set(permission_ids)
        await repository.revoke(session, group_id, current - wanted)
        await repository.grant(session, group_id, sorted(wanted - current))
        added, removed = len(wanted - current), len(current - wanted)
    for field, value in changes.items():
        if field == "status":
            group.status = StaffStatus(value)
        else:
            setattr(group, field, "" if field == "remark" and value is None else value)
    await _flush(session)
    fields = sorted(changes) + (["permission_ids"] if permission_ids is not None else [])
    return GroupChange(group_out(group), fields, added, removed)


async def delete(session: AsyncSession, group_id: int) -> bool:
    """M17: False when there was no such group; 409 while it has members."""
    if await session.get(AdministratorGroup, group_id) is None:
        return False
    if await repository.count_members(session, group_id):
        raise Conflict("The group still has members.")
    await repository.delete_group(session, group_id)
    return True
