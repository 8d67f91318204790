"""Comments, replies and comment likes (app.md E47-E50)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from toutiao.api.app.deps import CurrentUser, OptionalUser
from toutiao.api.app.schemas.comment import (
    CommentCreate,
    CommentCreated,
    CommentPage,
    CommentTarget,
    CommentTargetOut,
)
from toutiao.api.deps import ReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.responses import Envelope, no_content, ok, ok_response
from toutiao.api.types import Id, StrictInt
from toutiao.comment import service as comment_service

router = APIRouter()

Limit = Annotated[StrictInt, Field(ge=1, le=comment_service.MAX_LIMIT)]


@router.get("/v1_0/comments", name="news.comments", response_model=Envelope[CommentPage])
async def list_comments(
    runtime: RuntimeDep,
    session: ReadSessionDep,
    user_id: OptionalUser,
    kind: Annotated[Literal["a", "c"], Query(alias="type", description="a: article, c: comment")],
    source: Annotated[Id, Query(description="article id (type=a) or comment id (type=c)")],
    offset: Annotated[Id | None, Query(description="exclusive cursor: the last_id seen")] = None,
    limit: Annotated[Limit, Query(description="page size, 1-50")] = 10,
) -> Response:
    """Comments of an article or replies of a comment, newest first, paged by comment id."""
    page = await comment_service.list_comments(
        runtime, session, kind=kind, source=source, offset=offset, limit=limit, user_id=user_id
    )
    return ok_response(page)


@router.post(
    "/v1_0/comments",
    name="news.comments_create",
    status_code=201,
    response_model=Envelope[CommentCreated],
)
async def create_comment(
    body: CommentCreate, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Comment on an article, or reply to a comment (with ``art_id``)."""
    created = await comment_service.create_comment(
        runtime, session, user_id, target=body.target, content=body.content, art_id=body.art_id
    )
    return ok(created)


@router.post(
    "/v1_0/comment/likings",
    name="news.commentlikings",
    status_code=201,
    response_model=Envelope[CommentTargetOut],
)
async def like_comment(
    body: CommentTarget, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Like a comment or reply (idempotent)."""
    await comment_service.like(runtime, session, user_id, body.target)
    return ok({"target": body.target})


@router.delete(
    "/v1_0/comment/likings/{target:id}",
    name="news.commentlikings_delete",
    status_code=204,
    response_class=Response,
)
async def unlike_comment(
    target: int, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Remove my like from a comment or reply (idempotent)."""
    await comment_service.unlike(runtime, session, user_id, target)
    return no_content()
