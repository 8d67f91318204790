"""Article review and content management (mis.md M37-M39)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import Field

from toutiao.api.deps import ReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.mis.deps import AuditDep, CurrentStaff
from toutiao.api.mis.params import IdList, PagingDep, check_order, check_range
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Body
from toutiao.api.responses import ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import StrictInt, parse_id
from toutiao.content import review
from toutiao.content.repository import StaffArticleFilter
from toutiao.kit.errors import BadRequest
from toutiao.models.enums import ArticleReviewAction, ArticleStatus
from toutiao.staff.audit import ids_text

router = GatedRouter(route_class=StaffRoute)

ORDERS = ("id", "create_time")


def _statuses(value: str | None) -> tuple[ArticleStatus, ...] | None:
    if value is None:
        return None
    try:
        found = tuple(ArticleStatus(int(part)) for part in value.split(","))
    except ValueError:
        raise BadRequest("status_list: comma-separated statuses 0-5") from None
    return tuple(dict.fromkeys(found))


def _id_query(name: str, value: str | None) -> int | None:
    try:
        return None if value is None else parse_id(value)
    except ValueError:
        raise BadRequest(f"{name}: a positive integer") from None


@router.get("/v1_0/articles", name="mis.articles")
@requires("article-list-get")
async def list_articles(
    runtime: RuntimeDep,
    session: ReadSessionDep,
    paging: PagingDep,
    title: Annotated[str | None, Query(max_length=128)] = None,
    channel: Annotated[str | None, Query(max_length=32, description="channel name part")] = None,
    status_list: Annotated[str | None, Query(description="e.g. 1,2")] = None,
    begin: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    order_by: Annotated[str | None, Query(description="id or create_time")] = None,
    channel_id: Annotated[str | None, Query()] = None,
    user_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """M37: articles by filters; the review queue is ``status_list=1&order_by=create_time``."""
    low, high = check_range(begin, end)
    where = StaffArticleFilter(
        title=title or None,
        channel=channel or None,
        statuses=_statuses(status_list),
        begin=low,
        end=high,
        channel_id=_id_query("channel_id", channel_id),
        user_id=_id_query("user_id", user_id),
        order_by=check_order(order_by, ORDERS),
    )
    items, total = await review.list_articles(
        runtime.store, session, where, offset=paging.offset, limit=paging.per_page
    )
    return ok(paging.body("articles", items, total))


class ReviewBody(Body):
    article_ids: IdList
    status: StrictInt
    reject_reason: Annotated[str, Field(max_length=200)] | None = None


ACTIONS = {
    ArticleReviewAction.APPROVE: "approve",
    ArticleReviewAction.REJECT: "reject",
    ArticleReviewAction.DELETE: "delete",
    ArticleReviewAction.BAN: "ban",
    ArticleReviewAction.UNBAN: "unban",
}


@router.put("/v1_0/articles", name="mis.articles_update", status_code=201)
@requires("article-list-put")
async def review_articles(
    body: ReviewBody, staff: CurrentStaff, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M38: approve (2), reject (3), delete (4), ban (5) or unban (6) several articles."""
    if body.status not in {int(a) for a in ArticleReviewAction}:
        raise BadRequest("status: 2 approve, 3 reject, 4 delete, 5 ban or 6 unban")
    action = ArticleReviewAction(body.status)
    count = await review.review(
        runtime, session, staff.administrator_id, body.article_ids, action, body.reject_reason
    )
    verb = ACTIONS[action]
    reason = f": {body.reject_reason}" if body.reject_reason and action in (3, 5) else ""
    log.log(f"article.{verb}", f"{verb} articles {ids_text(body.article_ids)}{reason}")
    return ok({"count": count})


@router.get("/v1_0/articles/{target:id}", name="mis.article")
@requires("article-get")
async def get_article(target: int, runtime: RuntimeDep, session: ReadSessionDep) -> dict[str, Any]:
    """M39: one article of any status, with its content, counters and sensitive words."""
    return ok(await review.article_detail(runtime, session, target))
