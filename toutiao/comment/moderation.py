"""Comment moderation: list an article's comments for its author, pin, delete.

Deleting keeps the counters right: a comment and its published replies leave together
(replies of a deleted comment could not be reached any more), the article's comment counter
drops by the number of published comments removed, the parent's reply counter by one for a
reply, and the article's "comments from fans" by those written by the author's followers.
A comment that was not published (pending, rejected, already deleted) moved no counter and
moves none now. Counters and caches change after the commit; the nightly reconcile repairs a
Redis counter that missed it. The ``pin`` and ``remove`` functions take no actor: /mp checks
:mod:`toutiao.comment.policy` first (:func:`author_pin`, :func:`author_delete`), /mis its
staff permission.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article.cache import get_card
from toutiao.comment import cache as cc
from toutiao.comment import policy
from toutiao.comment.repository import CommentRepository
from toutiao.comment.service import ARTICLE, list_comments, present
from toutiao.kit.db import on_commit
from toutiao.kit.errors import NotFound
from toutiao.models import Comment
from toutiao.models.enums import CommentStatus
from toutiao.runtime import Runtime
from toutiao.stats import counters as c

log = logging.getLogger("toutiao.comment")


class CommentNotFound(NotFound):
    message = "Comment not found."


class ArticleNotFound(NotFound):
    message = "Article not found."


class Commenter(TypedDict):
    id: int
    name: str
    photo: str


class ModeratedComment(TypedDict):
    id: int
    content: str
    pubdate: str
    like_count: int
    reply_count: int
    is_top: bool
    user: Commenter


class ModerationPage(TypedDict):
    total_count: int
    results: list[ModeratedComment]


def _mp_time(iso_time: str) -> str:
    return iso_time.replace("T", " ")


async def article_comments(
    runtime: Runtime,
    session: AsyncSession,
    author_id: int,
    article_id: int,
    *,
    offset: int,
    limit: int,
) -> ModerationPage:
    """The published top-level comments of one of ``author_id``'s articles, pinned first."""
    repo = CommentRepository.from_session(session)
    if not policy.may_moderate(author_id, await repo.article_owner(article_id)):
        raise ArticleNotFound()
    page = await repo.page_of_article(article_id, offset=offset, limit=limit)
    items = await present(runtime, session, [cc.body_of(row) for row in page.rows], None)
    results: list[ModeratedComment] = [
        {
            "id": item["com_id"],
            "content": item["content"],
            "pubdate": _mp_time(item["pubdate"]),
            "like_count": item["like_count"],
            "reply_count": item["reply_count"],
            "is_top": bool(item["is_top"]),
            "user": {
                "id": item["aut_id"],
                "name": item["aut_name"],
                "photo": item["aut_photo"] or "",
            },
        }
        for item in items
    ]
    return {"total_count": page.total, "results": results}


async def _moderated(session: AsyncSession, author_id: int, comment_id: int) -> Comment:
    repo = CommentRepository.from_session(session)
    comment = await repo.get(comment_id, for_update=True)
    if comment is None or not policy.may_moderate(
        author_id, await repo.article_owner(comment.article_id)
    ):
        raise CommentNotFound()
    return comment


# -- pin ------------------------------------------------------------------------------------


async def pin(runtime: Runtime, session: AsyncSession, comment: Comment, sticky: bool) -> None:
    if not policy.may_pin(comment.status):
        raise CommentNotFound()
    comment.is_top = sticky
    body = cc.body_of(comment)
    on_commit(session, lambda: cc.forget(runtime.cache, body))


async def author_pin(
    runtime: Runtime, session: AsyncSession, author_id: int, comment_id: int, sticky: bool
) -> None:
    await pin(runtime, session, await _moderated(session, author_id, comment_id), sticky)


# -- delete ---------------------------------------------------------------------------------


async def remove(runtime: Runtime, session: AsyncSession, comment: Comment) -> int:
    """Delete a comment with its published replies; returns how many published comments left."""
    repo = CommentRepository.from_session(session)
    if comment.status != CommentStatus.APPROVED:
        if comment.status != CommentStatus.DELETED:
            await repo.mark_deleted([comment.comment_id])
        return 0
    replies = await repo.published_replies(comment.comment_id) if comment.parent_id is None else []
    removed = [comment, *replies]
    bodies = [cc.body_of(row) for row in removed]
    await repo.mark_deleted([row.comment_id for row in removed])
    owner = await repo.article_owner(comment.article_id)
    fans = await repo.followers_among(owner, [row.user_id for row in removed]) if owner else set()
    by_fans = sum(1 for row in removed if row.user_id in fans and row.user_id != owner)
    if by_fans:
        await repo.add_fans_comments(comment.article_id, -by_fans)
    _after_remove(runtime, session, bodies)
    return len(removed)


def _after_remove(runtime: Runtime, session: AsyncSession, bodies: list[dict[str, Any]]) -> None:
    first = bodies[0]

    async def counters_and_caches() -> None:
        try:
            async with runtime.store.pipeline(transaction=False) as pipe:
                c.ARTICLE_COMMENTS.queue(pipe, first["art_id"], -len(bodies))
                if first["parent_id"] is not None:
                    c.COMMENT_REPLIES.queue(pipe, first["parent_id"], -1)
                else:
                    c.COMMENT_REPLIES.touch(first["com_id"])
                    pipe.zrem(c.COMMENT_REPLIES.key, first["com_id"])
                await pipe.execute()
        finally:
            try:
                await cc.forget(runtime.cache, *bodies)
            except RedisError:
                log.error("comment.cache_forget_failed com_id=%s", first["com_id"], exc_info=True)

    on_commit(session, counters_and_caches)


async def author_delete(
    runtime: Runtime, session: AsyncSession, author_id: int, comment_id: int
) -> int:
    return await remove(runtime, session, await _moderated(session, author_id, comment_id))


# -- the original server's list form (mp.md §8.2 item 8) ------------------------------------


async def original_list(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int,
    *,
    kind: str,
    source: int,
    offset: int | None,
    limit: int,
) -> dict[str, Any]:
    """The app's comment list, as the original mp server served it: ``is_liking`` as 0/1 and,
    for an article's comments, the article's id, title and date."""
    page = await list_comments(
        runtime, session, kind=kind, source=source, offset=offset, limit=limit, user_id=user_id
    )
    for item in page["results"]:
        item["is_liking"] = int(item["is_liking"])
    if kind == ARTICLE:
        card = await get_card(runtime.cache, session, source)
        if card is not None:
            page.update(
                art_id=card["art_id"],
                art_title=card["title"],
                art_pubdate=_mp_time(card["pubdate"]),
            )
    return page
