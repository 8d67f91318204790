"""What /mis endpoints ask for: the guarded staff member and the operation-log writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.api.deps import ClientIpDep, SessionDep
from toutiao.api.mis.routing import AUDIT_KEY, STAFF_KEY
from toutiao.staff import audit
from toutiao.staff.auth import Staff


async def get_current_staff(request: Request) -> Staff:
    """Set by the route guard (routing.py) before the endpoint runs."""
    staff = request.scope.get(STAFF_KEY)
    if staff is None:
        raise RuntimeError("CurrentStaff used on a PUBLIC /mis route")
    return staff  # type: ignore[no-any-return]


CurrentStaff = Annotated[Staff, Depends(get_current_staff)]


async def get_actor(staff: CurrentStaff, ip: ClientIpDep) -> audit.Actor:
    return audit.Actor(staff.administrator_id, ip)


ActorDep = Annotated[audit.Actor, Depends(get_actor)]


@dataclass
class Audit:
    """Writes the request's operation-log row into the request's own session.

    Endpoints call ``audit.log("channel.create", "create channel 7 'news'")`` once, after the
    change succeeded; the row commits with the change or not at all.
    """

    request: Request
    session: AsyncSession
    actor: audit.Actor

    def log(self, operation: str, description: str) -> None:
        audit.record(self.session, self.actor, operation, description)
        self.request.scope[AUDIT_KEY] = self.request.scope.get(AUDIT_KEY, 0) + 1


async def get_audit(request: Request, session: SessionDep, actor: ActorDep) -> Audit:
    return Audit(request, session, actor)


AuditDep = Annotated[Audit, Depends(get_audit)]
