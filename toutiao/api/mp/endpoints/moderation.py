"""Comment moderation by the article's author (mp.md §6.7; the original form of §8.2)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Response

from toutiao.api.deps import PrimaryReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.mp.audit import audit
from toutiao.api.mp.deps import Author, WritingAuthor
from toutiao.api.mp.paging import ListPaging
from toutiao.api.mp.schemas.moderation import (
    ModerationPage,
    OriginalCommentPage,
    Sticky,
    StickyBody,
)
from toutiao.api.openapi import rate_limited
from toutiao.api.responses import Envelope, no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import Id, StrictInt
from toutiao.comment import moderation
from toutiao.kit.errors import BadRequest

router = GatedRouter()

OriginalLimit = Annotated[StrictInt, Query(ge=1, le=50, description="page size (with type)")]


@router.get(
    "/v1_0/comments",
    name="mp.comments",
    response_model=Envelope[ModerationPage | OriginalCommentPage],
)
async def list_comments(
    author: Author,
    runtime: RuntimeDep,
    session: PrimaryReadSessionDep,
    paging: ListPaging,
    article_id: Annotated[Id | None, Query(description="one of my articles")] = None,
    kind: Annotated[
        Literal["a", "c"] | None, Query(alias="type", description="original form: a or c")
    ] = None,
    source: Annotated[Id | None, Query(description="original form: article or comment id")] = None,
    offset: Annotated[Id | None, Query(description="original form: id cursor")] = None,
    limit: OriginalLimit = 10,
) -> dict[str, Any]:
    """Comments of one of my articles, pinned first, then newest. With ``type`` and
    ``source``: the original server's cursor-paged list of an article or a comment."""
    if kind is not None:
        if source is None:
            raise BadRequest("source: required with type")
        page = await moderation.original_list(
            runtime, session, author, kind=kind, source=source, offset=offset, limit=limit
        )
        return ok(page)
    if article_id is None:
        raise BadRequest("article_id: required")
    found = await moderation.article_comments(
        runtime, session, author, article_id, offset=paging.offset, limit=paging.per_page
    )
    return ok(paging.body(list(found["results"]), found["total_count"]))


@router.put(
    "/v1_0/comments/{comment_id:id}/sticky",
    name="mp.comment_sticky",
    openapi_extra=rate_limited(),
    status_code=201,
    response_model=Envelope[Sticky],
)
async def pin_comment(
    comment_id: int,
    body: StickyBody,
    author: WritingAuthor,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Pin (``sticky: true``) or unpin a comment on one of my articles."""
    await moderation.author_pin(runtime, session, author, comment_id, body.sticky)
    audit(session, author, "comment.sticky", comment_id=comment_id, sticky=body.sticky)
    return ok({"target": comment_id, "sticky": body.sticky})


@router.delete(
    "/v1_0/comments/{comment_id:id}",
    name="mp.comment_delete",
    openapi_extra=rate_limited(),
    status_code=204,
    response_class=Response,
)
async def delete_comment(
    comment_id: int, author: WritingAuthor, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Delete a comment (and its replies) on one of my articles; again: 204."""
    await moderation.author_delete(runtime, session, author, comment_id)
    audit(session, author, "comment.delete", comment_id=comment_id)
    return no_content()
