"""Menus and permission points (mis.md M18-M22): one tree, kept a tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.errors import BadRequest, Conflict, NotFound
from toutiao.kit.like import any_contains
from toutiao.models import Permission
from toutiao.models.enums import PermissionType
from toutiao.staff import repository
from toutiao.staff.tree import PermissionOut, permission_out


@dataclass(frozen=True)
class PermissionQuery:
    keyword: str | None = None
    parent_id: int | None = None
    type: int | None = None
    order_by: str | None = None


async def list_permissions(
    session: AsyncSession, query: PermissionQuery, offset: int, limit: int
) -> tuple[list[PermissionOut], int]:
    where: list[ColumnElement[bool]] = []
    if query.keyword:
        where.append(any_contains([Permission.name, Permission.code], query.keyword))
    if query.parent_id is not None:
        if query.parent_id and await session.get(Permission, query.parent_id) is None:
            raise BadRequest("parent_id: no such permission")
        where.append(Permission.parent_id == query.parent_id)
    if query.type is not None:
        where.append(Permission.type == PermissionType(query.type))
    order = (
        [Permission.permission_id]
        if query.order_by == "id"
        else [Permission.sequence, Permission.permission_id]
    )
    rows, total = await repository.paged(
        session, repository.permissions_query(where), order, offset, limit
    )
    return [permission_out(row[0]) for row in rows], total


async def one(session: AsyncSession, permission_id: int) -> PermissionOut:
    row = await session.get(Permission, permission_id)
    if row is None:
        raise NotFound("Permission not found.")
    return permission_out(row)


async def _check_parent(session: AsyncSession, parent_id: int, self_id: int | None) -> None:
    if parent_id == 0:
        return
    parent = await session.get(Permission, parent_id)
    if parent is None or parent.type != PermissionType.MENU:
        raise BadRequest("parent_id: must be 0 or an existing menu")
    if self_id is None:
        return
    parents = await repository.parents(session)
    node: int | None = parent_id
    seen: set[int] = set()
    while node and node not in seen:  # walk up: the entry must not become its own ancestor
        if node == self_id:
            raise BadRequest("parent_id: an entry can not move under itself")
        seen.add(node)
        node = parents.get(node)


async def _check_unique(
    session: AsyncSession, name: str | None, code: str | None, kind: int, self_id: int | None
) -> None:
    pk = Permission.permission_id
    if name is not None and await repository.name_taken(
        session, Permission.name, name, pk, self_id
    ):
        raise Conflict("Permission name already exists.")
    if (
        kind == PermissionType.POINT
        and code
        and await repository.point_code_taken(session, code, self_id)
    ):
        raise Conflict("Permission code already exists.")


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("Permission name already exists.") from exc


async def create(session: AsyncSession, fields: dict[str, Any]) -> PermissionOut:
    """M19: a point needs a code; a non-zero parent must be a menu."""
    kind = fields["type"]
    code = fields.get("code") or None
    if kind == PermissionType.POINT and not code:
        raise BadRequest("code: required for permission points")
    parent_id = fields.get("parent_id", 0)
    await _check_parent(session, parent_id, None)
    await _check_unique(session, fields["name"], code, kind, None)
    row = Permission(
        name=fields["name"],
        type=PermissionType(kind),
        parent_id=parent_id,
        code=code,
        sequence=fields.get("sequence", 0),
    )
    session.add(row)
    await _flush(session)
    return permission_out(row)


async def update(
    session: AsyncSession, permission_id: int, changes: dict[str, Any]
) -> PermissionOut:
    """M21: the sent fields; the tree stays a tree and a point keeps a unique code."""
    row = await session.get(Permission, permission_id, with_for_update=True)
    if row is None:
        raise NotFound("Permission not found.")
    kind = changes.get("type", int(row.type))
    code = changes["code"] or None if "code" in changes else row.code
    if kind == PermissionType.POINT:
        if not code:
            raise BadRequest("code: required for permission points")
        if row.type == PermissionType.MENU and await repository.children_of(session, permission_id):
            raise BadRequest("type: an entry with children must stay a menu")
    if "parent_id" in changes:
        await _check_parent(session, changes["parent_id"], permission_id)
    name = changes.get("name")
    code_changed = "code" in changes or "type" in changes
    await _check_unique(session, name, code if code_changed else None, kind, permission_id)
    for field, value in changes.items():
        if field == "type":
            row.type = PermissionType(value)
        elif field == "code":
            row.code = value or None
        else:
            setattr(row, field, value)
    await _flush(session)
    return permission_out(row)


async def delete(session: AsyncSession, permission_id: int, with_children: bool) -> int:
    """M22: the entry (and with ``with_children`` its subtree) and every grant of them;
    returns how many entries were removed (0 when there was no such entry)."""
    if await session.get(Permission, permission_id) is None:
        return 0
    parents = await repository.parents(session)
    subtree = [permission_id]
    frontier = [permission_id]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier and p not in subtree]
        subtree.extend(children)
        frontier = children
    if len(subtree) > 1 and not with_children:
        raise Conflict("The entry has children; pass del_children to delete them too.")
    await repository.delete_permissions(session, subtree)
    return len(subtree)
