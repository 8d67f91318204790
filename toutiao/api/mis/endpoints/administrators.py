"""Staff accounts (mis.md M07-M12)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response

from toutiao.api.deps import SessionDep
from toutiao.api.mis.deps import AuditDep, CurrentStaff
from toutiao.api.mis.params import Flag, IdList, PagingDep, check_order
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Account, Body, Email, Mobile, NonEmpty, StaffName
from toutiao.api.responses import no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import Id
from toutiao.staff import accounts, admins
from toutiao.staff.audit import ids_text

router = GatedRouter(route_class=StaffRoute)


@router.get("/v1_0/administrators", name="mis.administrators")
@requires("administrator-list-get")
async def list_administrators(
    session: SessionDep,
    paging: PagingDep,
    keyword: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[Flag | None, Query()] = None,
    order_by: Annotated[str | None, Query()] = None,
    group_id: Annotated[Id | None, Query()] = None,
) -> dict[str, Any]:
    """M07: list staff accounts (last update first; ``order_by=id`` for id order)."""
    query = admins.AdminQuery(keyword, status, group_id, check_order(order_by, {"id"}))
    items, total = await admins.list_admins(session, query, paging.offset, paging.per_page)
    return ok(paging.body("administrators", items, total))


class NewAdministrator(Body):
    account: Account
    password: NonEmpty
    name: StaffName
    group_id: Id
    email: Email | None = None
    mobile: Mobile | None = None
    status: Flag = 1


@router.post("/v1_0/administrators", name="mis.administrator_create", status_code=201)
@requires("administrator-list-post")
async def create_administrator(
    body: NewAdministrator, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M08: create a staff account (409 when the account is taken)."""
    created = await admins.create(session, body.model_dump())
    log.log(
        "administrator.create",
        f"create administrator {created['administrator_id']} account {created['account']} "
        f"in group {created['group_id']}",
    )
    return ok(created)


class AdministratorIds(Body):
    administrator_ids: IdList


@router.delete("/v1_0/administrators", name="mis.administrators_delete", status_code=204)
@requires("administrator-delete")
async def delete_administrators(
    body: AdministratorIds, staff: CurrentStaff, session: SessionDep, log: AuditDep
) -> Response:
    """M09: delete several accounts (unknown ids ignored; never one's own)."""
    deleted = await admins.delete_many(session, staff.administrator_id, body.administrator_ids)
    log.log("administrator.delete", f"delete administrators {ids_text(deleted) or 'none'}")
    return no_content()


@router.get("/v1_0/administrators/{target:id}", name="mis.administrator")
@requires("administrator-get")
async def get_administrator(target: int, session: SessionDep) -> dict[str, Any]:
    """M10: one staff account."""
    return ok(await accounts.one(session, target))


class AdministratorChange(Body):
    account: Account | None = None
    password: NonEmpty | None = None
    current_password: str | None = None
    name: StaffName | None = None
    group_id: Id | None = None
    status: Flag | None = None
    email: Email | None = None
    mobile: Mobile | None = None


@router.put("/v1_0/administrators/{target:id}", name="mis.administrator_update", status_code=201)
@requires("administrator-put")
async def update_administrator(
    target: int,
    body: AdministratorChange,
    staff: CurrentStaff,
    session: SessionDep,
    log: AuditDep,
) -> dict[str, Any]:
    """M11: edit an account; only the fields sent change (``""`` clears email and mobile)."""
    changes = body.sent()
    changes.pop("current_password", None)
    for field in ("account", "password", "name", "group_id", "status"):
        if field in changes and changes[field] is None:
            changes.pop(field)
    updated, fields = await admins.update(
        session, staff.administrator_id, target, changes, body.current_password
    )
    log.log(
        "administrator.update",
        f"update administrator {target}: {', '.join(fields) or 'nothing'}",
    )
    return ok(updated)


@router.delete("/v1_0/administrators/{target:id}", name="mis.administrator_delete", status_code=204)
@requires("administrator-delete")
async def delete_administrator(
    target: int, staff: CurrentStaff, session: SessionDep, log: AuditDep
) -> Response:
    """M12: delete one account (204 also when it does not exist)."""
    deleted = await admins.delete_many(session, staff.administrator_id, [target])
    log.log("administrator.delete", f"delete administrators {ids_text(deleted) or 'none'}")
    return no_content()
