"""Announcements (mis.md M45-M50); the app shows the published ones (E02, E03)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from toutiao.announcement import management as announcements
from toutiao.announcement.repository import AnnouncementFilter
from toutiao.api.deps import ReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.limits import body_limit
from toutiao.api.mis.deps import AuditDep
from toutiao.api.mis.params import PagingDep, check_order
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Body
from toutiao.api.responses import no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import StrictInt, parse_int
from toutiao.content.authoring import media_prefix
from toutiao.content.sanitize import clean_html
from toutiao.kit.errors import BadRequest
from toutiao.models.enums import AnnouncementStatus
from toutiao.runtime import Runtime

router = GatedRouter(route_class=StaffRoute)


def _content(runtime: Runtime, content: str) -> str:
    """The article allowlist (mp.md §6.3) applies to announcement HTML too."""
    prefix = media_prefix(runtime)
    return announcements.clean_content(content, lambda raw: clean_html(raw, prefix))


@router.get("/v1_0/announcements", name="mis.announcements")
@requires("announcement-list-get")
async def list_announcements(
    session: ReadSessionDep,
    paging: PagingDep,
    status: Annotated[str | None, Query(description="0, 1 or 2")] = None,
    keyword: Annotated[str | None, Query(max_length=32)] = None,
    order_by: Annotated[str | None, Query(description="id")] = None,
) -> dict[str, Any]:
    """M45: announcements without their content, last update first (or by id)."""
    state = None
    if status is not None:
        try:
            state = AnnouncementStatus(parse_int(status))
        except ValueError:
            raise BadRequest("status: 0, 1 or 2") from None
    where = AnnouncementFilter(
        status=state, keyword=keyword or None, by_id=check_order(order_by, ("id",)) == "id"
    )
    rows, total = await announcements.list_announcements(
        session, where, offset=paging.offset, limit=paging.per_page
    )
    items = [r.as_json(with_content=False) for r in rows]
    return ok(paging.body("announcements", items, total))


class CreateBody(Body):
    title: str
    content: str
    status: StrictInt = 0


@router.post(
    "/v1_0/announcements",
    name="mis.announcements_create",
    status_code=201,
    openapi_extra=body_limit("article"),
)
@requires("announcement-list-post")
async def create_announcement(
    body: CreateBody, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M46: a draft (status 0) or an announcement published at once (status 1)."""
    if body.status not in (0, 1):
        raise BadRequest("status: 0 (draft) or 1 (publish)")
    title = announcements.clean_title(body.title)
    content = _content(runtime, body.content)
    created = await announcements.create(
        runtime, session, title=title, content=content, publish=body.status == 1
    )
    published = ", published" if body.status == 1 else ""
    log.log(
        "announcement.create",
        f"create announcement {created.announcement_id} {created.title}{published}",
    )
    return ok(created.as_json())


@router.get("/v1_0/announcements/{target:id}", name="mis.announcement")
@requires("announcement-get")
async def get_announcement(target: int, session: ReadSessionDep) -> dict[str, Any]:
    """M47: one announcement with its content."""
    return ok((await announcements.get(session, target)).as_json())


class EditBody(Body):
    title: str | None = None
    content: str | None = None


@router.put(
    "/v1_0/announcements/{target:id}",
    name="mis.announcement_update",
    status_code=201,
    openapi_extra=body_limit("article"),
)
@requires("announcement-put")
async def update_announcement(
    target: int, body: EditBody, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M48: edit the title and/or the content, in any status."""
    if body.title is None and body.content is None:
        raise BadRequest("Send title, content or both.")
    updated = await announcements.edit(
        runtime,
        session,
        target,
        title=None if body.title is None else announcements.clean_title(body.title),
        content=None if body.content is None else _content(runtime, body.content),
    )
    fields = ", ".join(name for name in ("title", "content") if getattr(body, name) is not None)
    log.log("announcement.update", f"update announcement {target}: {fields}")
    return ok(updated.as_json())


class StatusBody(Body):
    status: StrictInt


@router.put(
    "/v1_0/announcements/{target:id}/status",
    name="mis.announcement_status",
    status_code=201,
)
@requires("announcement-status-put")
async def set_announcement_status(
    target: int, body: StatusBody, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M49: publish (1) a draft or a withdrawn announcement, or withdraw (2) a published one."""
    if body.status not in (1, 2):
        raise BadRequest("status: 1 (publish) or 2 (withdraw)")
    status = AnnouncementStatus(body.status)
    updated = await announcements.set_status(runtime, session, target, status)
    verb = "publish" if status == AnnouncementStatus.PUBLISHED else "withdraw"
    log.log(f"announcement.{verb}", f"{verb} announcement {target}")
    return ok(updated.as_json())


@router.delete(
    "/v1_0/announcements/{target:id}",
    name="mis.announcement_delete",
    status_code=204,
    response_class=Response,
)
@requires("announcement-delete")
async def delete_announcement(
    target: int, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> Response:
    """M50: delete a draft or withdrawn announcement (204 also when it does not exist)."""
    await announcements.remove(runtime, session, target)
    log.log("announcement.delete", f"delete announcement {target}")
    return no_content()
