"""The operation log (mis.md M23); reading it is itself logged."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from toutiao.api.deps import SessionDep
from toutiao.api.mis.deps import AuditDep
from toutiao.api.mis.params import PagingDep, check_order, check_range
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.responses import ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import Id
from toutiao.staff import audit

router = GatedRouter(route_class=StaffRoute)


@router.get("/v1_0/operationlogs", name="mis.operationlogs")
@requires("operationlog-get")
async def list_operation_logs(
    session: SessionDep,
    paging: PagingDep,
    log: AuditDep,
    keyword: Annotated[str | None, Query(max_length=50)] = None,
    begin: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    order_by: Annotated[str | None, Query()] = None,
    administrator_id: Annotated[Id | None, Query()] = None,
    operation: Annotated[str | None, Query(max_length=50)] = None,
) -> dict[str, Any]:
    """M23: search the log (newest first); keyword matches operation or description."""
    low, high = check_range(begin, end)
    query = audit.LogQuery(
        keyword, low, high, administrator_id, operation, check_order(order_by, {"id"})
    )
    items, total = await audit.list_logs(session, query, paging.offset, paging.per_page)
    log.log("operationlog.view", f"view operation log page {paging.page}")
    return ok(paging.body("operationlogs", items, total))
