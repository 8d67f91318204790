"""Staff moderation of comments and replies (mis M40, M41).

Statuses: 0 pending, 1 approved (visible), 2 rejected (hidden), 3 deleted. Allowed moves:
approve from 0 or 2, reject from 0 or 1, delete from 0, 1 or 2 (a deleted one is skipped).
A batch changes every listed comment or none (409 names the first that cannot move), each
move conditional on the status read, so two moderators never both succeed.

Deleting is the author's delete of :mod:`toutiao.comment.moderation` (the comment leaves
with its published replies, counters follow). Approving and rejecting move the article's
comment counter and, for a reply, its parent's reply counter by one, and drop the cached
lists and bodies after the commit, so the app's lists and ``comm_count`` follow at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.comment import cache as cc
from toutiao.comment import moderation, service
from toutiao.comment.repository import CommentRepository, StaffCommentFilter
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Conflict
from toutiao.models import Comment
from toutiao.models.enums import CommentStatus, StatisticsType
from toutiao.runtime import Runtime
from toutiao.stats import activity
from toutiao.stats import counters as c

log = logging.getLogger("toutiao.comment.review")

ALLOWED_FROM = {
    CommentStatus.APPROVED: (CommentStatus.PENDING, CommentStatus.REJECTED),
    CommentStatus.REJECTED: (CommentStatus.PENDING, CommentStatus.APPROVED),
    CommentStatus.DELETED: (CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.REJECTED),
}


@dataclass(frozen=True)
class Move:
    body: dict[str, Any]
    delta: int  # +1 becoming visible, -1 stopping being visible


def _iso(comment: Comment) -> str:
    return comment.create_time.replace(microsecond=0).isoformat()


async def list_comments(
    store: Any, session: AsyncSession, where: StaffCommentFilter, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """M40: comments and replies with their live like and reply counters."""
    rows, total = await CommentRepository.from_session(session).staff_page(
        where, offset=offset, limit=limit
    )
    ids = [r.comment.comment_id for r in rows]
    live = await c.read_many(store, (c.COMMENT_LIKES, c.COMMENT_REPLIES), ids) if ids else {}
    items = []
    for row in rows:
        comment = row.comment
        counts = live.get(comment.comment_id, {})
        items.append(
            {
                "comment_id": comment.comment_id,
                "article_id": comment.article_id,
                "article_title": row.article_title,
                "parent_id": comment.parent_id,
                "user_id": comment.user_id,
                "user_name": row.user_name,
                "content": comment.content,
                "status": int(comment.status),
                "is_top": int(comment.is_top),
                "like_count": counts.get(c.COMMENT_LIKES.key, 0),
                "reply_count": counts.get(c.COMMENT_REPLIES.key, 0),
                "create_time": _iso(comment),
            }
        )
    return items, total


async def moderate(
    runtime: Runtime, session: AsyncSession, comment_ids: Sequence[int], status: CommentStatus
) -> int:
    """M41: approve, reject or delete every listed comment, or none; returns how many moved."""
    if status not in ALLOWED_FROM:
        raise BadRequest("status: 1 approve, 2 reject or 3 delete")
    repo = CommentRepository.from_session(session)
    rows = await repo.lock_many(comment_ids)
    missing = [i for i in comment_ids if i not in rows]
    if missing:
        raise BadRequest(f"comment_ids: unknown ids {', '.join(map(str, missing))}")
    todo = [rows[i] for i in comment_ids if not _skipped(rows[i], status)]
    for comment in todo:
        if comment.status not in ALLOWED_FROM[status]:
            raise Conflict(
                f"Comment {comment.comment_id} cannot go from status {int(comment.status)} "
                f"to {int(status)}."
            )
    moves: list[Move] = []
    for comment in todo:
        before = comment.status
        if status == CommentStatus.DELETED:
            await moderation.remove(runtime, session, comment)
            continue
        if not await repo.move_status(comment.comment_id, before, status):
            raise Conflict(f"Comment {comment.comment_id} changed meanwhile, please retry.")
        comment.status = status
        if status == CommentStatus.APPROVED:
            delta = 1
            if before == CommentStatus.PENDING:  # held by pre-moderation: published now
                await service.published(runtime, session, comment)
        else:
            delta = -1 if before == CommentStatus.APPROVED else 0
        moves.append(Move(cc.body_of(comment), delta))
    _after_commit(runtime, session, moves)
    return len(todo)


def _skipped(comment: Comment, status: CommentStatus) -> bool:
    return status == CommentStatus.DELETED and comment.status == CommentStatus.DELETED


def _after_commit(runtime: Runtime, session: AsyncSession, moves: list[Move]) -> None:
    if not moves:
        return

    async def counters_and_caches() -> None:
        shown = sum(1 for m in moves if m.delta > 0)
        try:
            async with runtime.store.pipeline(transaction=False) as pipe:
                for move in moves:
                    if move.delta:
                        c.ARTICLE_COMMENTS.queue(pipe, move.body["art_id"], move.delta)
                        if move.body["parent_id"] is not None:
                            c.COMMENT_REPLIES.queue(pipe, move.body["parent_id"], move.delta)
                if shown:
                    activity.queue_count(pipe, StatisticsType.COMMENT, shown)
                await pipe.execute()
        finally:
            try:
                await cc.forget(runtime.cache, *(m.body for m in moves))
            except RedisError:
                log.error("comment.review_forget_failed", exc_info=True)

    on_commit(session, counters_and_caches)
