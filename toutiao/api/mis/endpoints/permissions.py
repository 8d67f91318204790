"""Menus and permission points (mis.md M18-M22)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response
from pydantic import AfterValidator, BeforeValidator, Field

from toutiao.api.deps import SessionDep
from toutiao.api.mis.deps import AuditDep
from toutiao.api.mis.params import Flag, PagingDep, check_order
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Body
from toutiao.api.responses import no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import StrictInt, parse_int
from toutiao.kit.errors import BadRequest
from toutiao.staff import permissions

router = GatedRouter(route_class=StaffRoute)


def _name(value: str) -> str:
    if not 1 <= len(value) <= 50 or not value.strip():
        raise ValueError("1-50 characters")
    return value


def _code(value: str) -> str:
    if len(value) > 50:
        raise ValueError("at most 50 characters")
    return value


def _parent(value: Any) -> int:
    number = parse_int(value)
    if number < 0:
        raise ValueError("must be 0 or an id")
    return number


Name = Annotated[str, AfterValidator(_name)]
Code = Annotated[str, AfterValidator(_code)]
ParentId = Annotated[int, BeforeValidator(_parent)]
Sequence = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]


@router.get("/v1_0/permissions", name="mis.permissions")
@requires("permission-list-get")
async def list_permissions(
    session: SessionDep,
    paging: PagingDep,
    keyword: Annotated[str | None, Query(max_length=50)] = None,
    parent_id: Annotated[ParentId | None, Query()] = None,
    type: Annotated[Flag | None, Query()] = None,
    order_by: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """M18: list menus and points (by sequence; ``order_by=id`` for id order)."""
    query = permissions.PermissionQuery(keyword, parent_id, type, check_order(order_by, {"id"}))
    items, total = await permissions.list_permissions(
        session, query, paging.offset, paging.per_page
    )
    return ok(paging.body("permissions", items, total))


class NewPermission(Body):
    name: Name
    type: Flag
    parent_id: ParentId = 0
    code: Code | None = None
    sequence: Sequence = 0


@router.post("/v1_0/permissions", name="mis.permission_create", status_code=201)
@requires("permission-list-post")
async def create_permission(
    body: NewPermission, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M19: create a menu (type 0) or a permission point (type 1, with a unique code)."""
    created = await permissions.create(session, body.model_dump())
    log.log(
        "permission.create",
        f"create permission {created['permission_id']} '{created['name']}' "
        f"type {created['type']} code {created['code'] or '-'}",
    )
    return ok(created)


@router.get("/v1_0/permissions/{target:id}", name="mis.permission")
@requires("permission-get")
async def get_permission(target: int, session: SessionDep) -> dict[str, Any]:
    """M20: one permission."""
    return ok(await permissions.one(session, target))


class PermissionChange(Body):
    name: Name | None = None
    type: Flag | None = None
    parent_id: ParentId | None = None
    code: Code | None = None
    sequence: Sequence | None = None


@router.put("/v1_0/permissions/{target:id}", name="mis.permission_update", status_code=201)
@requires("permission-put")
async def update_permission(
    target: int, body: PermissionChange, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M21: edit a permission; ``parent_id: 0`` moves it to the top level."""
    changes = {k: v for k, v in body.sent().items() if v is not None or k == "code"}
    updated = await permissions.update(session, target, changes)
    log.log(
        "permission.update",
        f"update permission {target}: {', '.join(sorted(changes)) or 'nothing'}",
    )
    return ok(updated)


def _del_children(value: str | None) -> bool:
    if value is None:
        return False
    text = value.strip().lower()
    if text == "true":
        return True
    if text in ("false", "0"):
        return False
    if text.isdigit():
        return int(text) > 0
    raise BadRequest("del_children: a positive integer or true")


@router.delete("/v1_0/permissions/{target:id}", name="mis.permission_delete", status_code=204)
@requires("permission-delete")
async def delete_permission(
    target: int,
    session: SessionDep,
    log: AuditDep,
    del_children: Annotated[str | None, Query()] = None,
) -> Response:
    """M22: delete an entry (409 when it has children, unless ``del_children``)."""
    removed = await permissions.delete(session, target, _del_children(del_children))
    log.log("permission.delete", f"delete permission {target}: {removed} entries removed")
    return no_content()
