"""Groups (roles) and their permissions (mis.md M13-M17)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response
from pydantic import AfterValidator

from toutiao.api.deps import SessionDep
from toutiao.api.mis.deps import AuditDep, CurrentStaff
from toutiao.api.mis.params import Flag, PagingDep, check_order
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Body, StaffName
from toutiao.api.responses import no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import Id
from toutiao.staff import groups

router = GatedRouter(route_class=StaffRoute)


def _remark(value: str) -> str:
    if len(value) > 100:
        raise ValueError("at most 100 characters")
    return value


Remark = Annotated[str, AfterValidator(_remark)]


def _distinct(ids: list[int]) -> list[int]:
    return list(dict.fromkeys(ids))


PermissionIds = Annotated[list[Id], AfterValidator(_distinct)]


@router.get("/v1_0/groups", name="mis.groups")
@requires("group-list-get")
async def list_groups(
    session: SessionDep,
    paging: PagingDep,
    keyword: Annotated[str | None, Query(max_length=50)] = None,
    order_by: Annotated[str | None, Query()] = None,
    status: Annotated[Flag | None, Query()] = None,
) -> dict[str, Any]:
    """M13: list groups (last update first; ``order_by=id`` for id order)."""
    query = groups.GroupQuery(keyword, status, check_order(order_by, {"id"}))
    items, total = await groups.list_groups(session, query, paging.offset, paging.per_page)
    return ok(paging.body("groups", items, total))


class NewGroup(Body):
    name: StaffName
    remark: Remark = ""
    status: Flag = 1
    permission_ids: PermissionIds = []


@router.post("/v1_0/groups", name="mis.group_create", status_code=201)
@requires("group-list-post")
async def create_group(body: NewGroup, session: SessionDep, log: AuditDep) -> dict[str, Any]:
    """M14: create a group with its permissions (one transaction)."""
    created = await groups.create(session, body.model_dump())
    log.log(
        "group.create",
        f"create group {created['group_id']} '{created['name']}' "
        f"with {len(body.permission_ids)} permissions",
    )
    return ok(created)


@router.get("/v1_0/groups/{target:id}", name="mis.group")
@requires("group-get")
async def get_group(target: int, session: SessionDep) -> dict[str, Any]:
    """M15: one group with the permission tree (``checked`` = granted)."""
    group, tree = await groups.one(session, target)
    data: dict[str, Any] = dict(group)
    data["permission_tree"] = tree
    return ok(data)


class GroupChange(Body):
    name: StaffName | None = None
    remark: Remark | None = None
    status: Flag | None = None
    permission_ids: PermissionIds | None = None


@router.put("/v1_0/groups/{target:id}", name="mis.group_update", status_code=201)
@requires("group-put")
async def update_group(
    target: int, body: GroupChange, staff: CurrentStaff, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M16: edit a group; ``permission_ids`` replaces its grants exactly."""
    changes = body.sent()
    for field in ("name", "status"):
        if field in changes and changes[field] is None:
            changes.pop(field)
    if changes.get("permission_ids", []) is None:
        changes.pop("permission_ids")
    change = await groups.update(session, staff.group_id, target, changes)
    log.log(
        "group.update",
        f"update group {target}: {', '.join(change.fields) or 'nothing'}; "
        f"permissions +{change.added} -{change.removed}",
    )
    return ok(change.group)


@router.delete("/v1_0/groups/{target:id}", name="mis.group_delete", status_code=204)
@requires("group-delete")
async def delete_group(target: int, session: SessionDep, log: AuditDep) -> Response:
    """M17: delete an empty group (409 while it has members; 204 when already gone)."""
    deleted = await groups.delete(session, target)
    log.log("group.delete", f"delete group {target}" + ("" if deleted else " (absent)"))
    return no_content()
