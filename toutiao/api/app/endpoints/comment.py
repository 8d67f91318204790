"""Comments, replies and comment likes (app.md E47-E50)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from toutiao.api.app.deps import CurrentUser, get_optional_user, read_session_and_user
from toutiao.api.app.schemas.comment import (
    CommentCreate,
    CommentCreated,
    CommentPage,
    CommentTarget,
    CommentTargetOut,
)
from toutiao.api.deps import (
    RuntimeDep,
    SessionDep,
    runtime_of,
)
from toutiao.api.openapi import auth_doc
from toutiao.api.query import QueryParam, query_doc, query_id, query_int, read_query
from toutiao.api.responses import Envelope, no_content, ok, ok_response
from toutiao.api.routing import GatedRouter
from toutiao.comment import service as comment_service
from toutiao.kit.errors import BadRequest

router = GatedRouter()

# Read by the handler, not solved by FastAPI (``toutiao.api.query``): comment lists are read
# with every article opened, and solving three dependencies and four parameters was about a
# tenth of a warm page's CPU. The OpenAPI document describes them as if declared.
COMMENTS_QUERY = (
    QueryParam("type", "a: article, c: comment", schema=(("type", "string"), ("enum", ["a", "c"]))),
    QueryParam(
        "source", "article id (type=a) or comment id (type=c)", schema=(("type", "integer"),)
    ),
    QueryParam(
        "offset", "exclusive cursor: the last_id seen", default="", schema=(("type", "integer"),)
    ),
    QueryParam(
        "limit",
        f"page size, 1-{comment_service.MAX_LIMIT}",
        default="10",
        schema=(("type", "integer"), ("minimum", 1), ("maximum", comment_service.MAX_LIMIT)),
    ),
)


@router.get(
    "/v1_0/comments",
    name="news.comments",
    response_model=Envelope[CommentPage],
    openapi_extra={**query_doc(*COMMENTS_QUERY), **auth_doc(get_optional_user)},
)
async def list_comments(request: Request) -> Response:
    """Comments of an article or replies of a comment, newest first, paged by comment id."""
    session, user_id = await read_session_and_user(request)
    kind, source, offset, limit = read_query(request, COMMENTS_QUERY)
    if kind not in ("a", "c"):
        raise BadRequest("type: must be 'a' or 'c'")
    page = await comment_service.list_comments(
        runtime_of(request),
        session,
        kind="a" if kind == "a" else "c",
        source=query_id("source", source),
        offset=query_id("offset", offset) if offset else None,
        limit=query_int("limit", limit, minimum=1, maximum=comment_service.MAX_LIMIT),
        user_id=user_id,
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
