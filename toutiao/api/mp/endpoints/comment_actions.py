"""Replies and comment likes as the original mp server offered them (mp.md §8.2 items 9,
12, 13): the app's comment rules, reached from the publishing side."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from toutiao.api.deps import RuntimeDep, SessionDep
from toutiao.api.mp.audit import audit
from toutiao.api.mp.deps import WritingAuthor
from toutiao.api.mp.schemas.moderation import LikeBody, Liked, Replied, ReplyBody
from toutiao.api.openapi import rate_limited
from toutiao.api.responses import Envelope, no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.comment import service as comment_service

router = GatedRouter()


@router.post(
    "/v1_0/comments",
    name="mp.comment_reply",
    status_code=201,
    response_model=Envelope[Replied],
    openapi_extra=rate_limited(),
)
async def reply_to_comment(
    body: ReplyBody, author: WritingAuthor, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Reply to a comment of an article (comments closed: 403)."""
    created = await comment_service.create_comment(
        runtime, session, author, target=body.target, content=body.content, art_id=body.art_id
    )
    audit(session, author, "comment.reply", comment_id=created["com_id"], target=body.target)
    return ok({"com_id": created["com_id"], "target": body.target, "art_id": created["art_id"]})


@router.post(
    "/v1_0/comment/likings",
    name="mp.comment_like",
    status_code=201,
    response_model=Envelope[Liked],
    openapi_extra=rate_limited(),
)
async def like_comment(
    body: LikeBody, author: WritingAuthor, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Like a comment or reply (idempotent)."""
    await comment_service.like(runtime, session, author, body.target)
    return ok({"target": body.target})


@router.delete(
    "/v1_0/comment/likings/{target:id}",
    name="mp.comment_unlike",
    openapi_extra=rate_limited(),
    status_code=204,
    response_class=Response,
)
async def unlike_comment(
    target: int, author: WritingAuthor, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Remove my like from a comment or reply (idempotent)."""
    await comment_service.unlike(runtime, session, author, target)
    return no_content()
