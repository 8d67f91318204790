"""Comment moderation (mis.md M40, M41)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from toutiao.api.deps import ReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.mis.deps import AuditDep
from toutiao.api.mis.params import IdList, PagingDep, check_order, check_range
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Body
from toutiao.api.responses import ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import StrictInt, parse_id, parse_int
from toutiao.comment import review
from toutiao.comment.repository import StaffCommentFilter
from toutiao.kit.errors import BadRequest
from toutiao.models.enums import CommentStatus
from toutiao.staff.audit import ids_text

router = GatedRouter(route_class=StaffRoute)

ACTIONS = {
    CommentStatus.APPROVED: "approve",
    CommentStatus.REJECTED: "reject",
    CommentStatus.DELETED: "delete",
}


def _id_query(name: str, value: str | None) -> int | None:
    try:
        return None if value is None else parse_id(value)
    except ValueError:
        raise BadRequest(f"{name}: a positive integer") from None


def _choice(name: str, value: str | None, allowed: range) -> int | None:
    if value is None:
        return None
    try:
        number = parse_int(value)
    except ValueError:
        number = -1
    if number not in allowed:
        raise BadRequest(f"{name}: {allowed.start}-{allowed.stop - 1}")
    return number


@router.get("/v1_0/comments", name="mis.comments")
@requires("comment-list-get")
async def list_comments(
    runtime: RuntimeDep,
    session: ReadSessionDep,
    paging: PagingDep,
    status: Annotated[str | None, Query(description="0-3")] = None,
    article_id: Annotated[str | None, Query()] = None,
    user_id: Annotated[str | None, Query()] = None,
    keyword: Annotated[str | None, Query(max_length=200)] = None,
    is_reply: Annotated[str | None, Query(description="0 comments, 1 replies")] = None,
    begin: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    order_by: Annotated[str | None, Query(description="id")] = None,
) -> dict[str, Any]:
    """M40: comments and replies, newest first (or by id)."""
    low, high = check_range(begin, end)
    state = _choice("status", status, range(4))
    reply = _choice("is_reply", is_reply, range(2))
    where = StaffCommentFilter(
        status=None if state is None else CommentStatus(state),
        article_id=_id_query("article_id", article_id),
        user_id=_id_query("user_id", user_id),
        keyword=keyword or None,
        is_reply=None if reply is None else bool(reply),
        begin=low,
        end=high,
        by_id=check_order(order_by, ("id",)) == "id",
    )
    items, total = await review.list_comments(
        runtime.store, session, where, offset=paging.offset, limit=paging.per_page
    )
    return ok(paging.body("comments", items, total))


class ModerateBody(Body):
    comment_ids: IdList
    status: StrictInt


@router.put("/v1_0/comments", name="mis.comments_update", status_code=201)
@requires("comment-list-put")
async def moderate_comments(
    body: ModerateBody, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M41: approve (1), reject (2) or delete (3) several comments; all or none."""
    if body.status not in (1, 2, 3):
        raise BadRequest("status: 1 approve, 2 reject or 3 delete")
    status = CommentStatus(body.status)
    count = await review.moderate(runtime, session, body.comment_ids, status)
    action = ACTIONS[status]
    log.log(f"comment.{action}", f"{action} comments {ids_text(body.comment_ids)}")
    return ok({"count": count})
