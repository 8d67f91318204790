"""Verification requests (mis.md M28-M30)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator

from toutiao.api.deps import RuntimeDep, SessionDep
from toutiao.api.mis.deps import AuditDep
from toutiao.api.mis.params import IdList, PagingDep, check_order
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Body
from toutiao.api.responses import ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import Id, parse_int
from toutiao.staff.audit import ids_text
from toutiao.user import legalize

router = GatedRouter(route_class=StaffRoute)


def _one_of(*allowed: int) -> BeforeValidator:
    def check(value: Any) -> int:
        number = parse_int(value)
        if number not in allowed:
            raise ValueError(f"one of {', '.join(map(str, allowed))}")
        return number

    return BeforeValidator(check)


def _reason(value: str) -> str:
    if len(value) > 200:
        raise ValueError("at most 200 characters")
    return value


@router.get("/v1_0/legalizes", name="mis.legalizes")
@requires("legalize-list-get")
async def list_legalizes(
    session: SessionDep,
    paging: PagingDep,
    status: Annotated[Annotated[int, _one_of(1, 2, 3)] | None, Query()] = None,
    order_by: Annotated[str | None, Query()] = None,
    type: Annotated[Annotated[int, _one_of(1, 2)] | None, Query()] = None,
    user_id: Annotated[Id | None, Query()] = None,
) -> dict[str, Any]:
    """M28: list verification requests (last update first)."""
    query = legalize.LegalizeQuery(status, type, user_id, check_order(order_by, {"id"}))
    items, total = await legalize.list_legalizes(session, query, paging.offset, paging.per_page)
    return ok(paging.body("legalizes", items, total))


class Decision(Body):
    legalize_ids: IdList
    status: Annotated[int, _one_of(2, 3)]
    reject_reason: Annotated[str, AfterValidator(_reason)] | None = None


@router.put("/v1_0/legalizes", name="mis.legalizes_decide", status_code=201)
@requires("legalize-list-put")
async def decide(
    body: Decision, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M29: approve (2) or reject (3) pending requests, all or none."""
    approve = body.status == 2
    count = await legalize.decide(runtime, session, body.legalize_ids, approve, body.reject_reason)
    operation = "legalize.approve" if approve else "legalize.reject"
    log.log(
        operation, f"{operation.removeprefix('legalize.')} requests {ids_text(body.legalize_ids)}"
    )
    return ok({"count": count})


@router.get("/v1_0/legalizes/{target:id}", name="mis.legalize")
@requires("legalize-get")
async def get_legalize(
    target: int, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M30: one request with its identity documents (this read is logged)."""
    data = await legalize.one(runtime, session, target)
    log.log("legalize.view", f"view request {target} of user {data['user_id']}")
    return ok(data)
