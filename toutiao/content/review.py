"""Staff review of articles (mis M37-M39): the queue, one article, and review batches.

The batch moves go through :mod:`toutiao.content.lifecycle` (one function per transition:
search, caches, counters, lists and feeds settle after the commit). What staff review adds on
top: an approved article that is banned or deleted has its pending reports marked handled,
approvals are counted for the site statistics, and each author gets a ``"review notify"``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.content import lifecycle, repository, sensitive
from toutiao.content.policy import Actor
from toutiao.content.repository import StaffArticleFilter, StaffArticleRow
from toutiao.content.sanitize import plain_text
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, NotFound
from toutiao.models.enums import ArticleReviewAction, ArticleStatus, StatisticsType
from toutiao.notify import REVIEW, now_ms
from toutiao.report import service as reports
from toutiao.runtime import Runtime
from toutiao.stats import activity
from toutiao.stats import counters as c

log = logging.getLogger("toutiao.content.review")

A = ArticleReviewAction
# The status an author is told about per action (unban: approved again).
NOTIFIED_STATUS = {
    A.APPROVE: ArticleStatus.APPROVED,
    A.REJECT: ArticleStatus.REJECTED,
    A.DELETE: ArticleStatus.DELETED,
    A.BAN: ArticleStatus.BANNED,
    A.UNBAN: ArticleStatus.APPROVED,
}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat()


def _item(row: StaffArticleRow, comment_count: int) -> dict[str, Any]:
    article = row.article
    return {
        "article_id": article.article_id,
        "title": article.title,
        "name": row.author_name or "",
        "channel_name": row.channel_name,
        "comment_count": comment_count,
        "update_time": _iso(article.update_time),
        "status": int(article.status),
        "user_id": article.user_id,
        "channel_id": article.channel_id,
        "create_time": _iso(article.create_time),
        "reviewer_id": article.reviewer_id,
        "review_time": _iso(article.review_time),
        "reject_reason": article.reject_reason,
    }


async def list_articles(
    store: Any, session: AsyncSession, where: StaffArticleFilter, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """M37: the review queue and content management, with live comment counters."""
    rows, total = await repository.staff_articles(session, where, offset=offset, limit=limit)
    ids = [r.article.article_id for r in rows]
    live = await c.read_many(store, (c.ARTICLE_COMMENTS,), ids) if ids else {}
    items = [
        _item(r, live.get(r.article.article_id, {}).get(c.ARTICLE_COMMENTS.key, 0)) for r in rows
    ]
    return items, total


async def article_detail(
    runtime: Runtime, session: AsyncSession, article_id: int
) -> dict[str, Any]:
    """M39: one article of any status with its content, live counters, pending reports and
    the configured sensitive words found in it."""
    row = await repository.staff_article(session, article_id)
    if row is None:
        raise NotFound("Article not found.")
    shown = (c.ARTICLE_COMMENTS, c.ARTICLE_READS, c.ARTICLE_LIKES, c.ARTICLE_COLLECTS)
    live = (await c.read_many(runtime.store, shown, [article_id]))[article_id]
    content = await repository.get_content(session, article_id) or ""
    found = await sensitive.find(runtime, session, row.article.title, plain_text(content))
    cover = row.article.cover or {}
    return {
        **_item(row, live[c.ARTICLE_COMMENTS.key]),
        "content": content,
        "cover": {"type": cover.get("type", 0), "images": list(cover.get("images", []))},
        "allow_comment": int(row.article.allow_comment),
        "read_count": live[c.ARTICLE_READS.key],
        "like_count": live[c.ARTICLE_LIKES.key],
        "collect_count": live[c.ARTICLE_COLLECTS.key],
        "report_count": await repository.pending_report_count(session, article_id),
        "sensitive_words": found.words,
    }


Transition = Callable[..., Awaitable[int]]


def _transition(
    action: ArticleReviewAction, reason: str | None
) -> tuple[Transition, dict[str, Any]]:
    if action == A.APPROVE:
        return lifecycle.approve, {}
    if action == A.REJECT:
        return lifecycle.reject, {"reason": reason}
    if action == A.BAN:
        return lifecycle.ban, {"reason": reason}
    if action == A.UNBAN:
        return lifecycle.unban, {}
    return lifecycle.delete, {}


async def review(
    runtime: Runtime,
    session: AsyncSession,
    administrator_id: int,
    article_ids: Sequence[int],
    action: ArticleReviewAction,
    reason: str | None = None,
) -> int:
    """M38: approve, reject, delete, ban or unban every listed article, or none."""
    if reason is not None and len(reason) > lifecycle.MAX_REASON:
        raise BadRequest(f"reject_reason: at most {lifecycle.MAX_REASON} characters")
    rows = await repository.lock_articles(session, article_ids)
    # What each article was before the move (the move may refresh the loaded rows).
    before = {r.article_id: (r.status, r.user_id, r.title) for r in rows}
    move, options = _transition(action, reason)
    count = await move(runtime, session, article_ids, Actor.staff(administrator_id), **options)
    was_public = [i for i, (status, _, _) in before.items() if status == ArticleStatus.APPROVED]
    if action in (A.BAN, A.DELETE) and was_public:
        await reports.handle_for_articles(session, administrator_id, was_public)
    moved = [
        Notice(i, user_id, title)
        for i, (status, user_id, title) in before.items()
        if not (action == A.DELETE and status == ArticleStatus.DELETED)
    ]
    _after_commit(runtime, session, action, moved, reason, count)
    return count


@dataclass(frozen=True)
class Notice:
    article_id: int
    author_id: int
    title: str


def _after_commit(
    runtime: Runtime,
    session: AsyncSession,
    action: ArticleReviewAction,
    moved: list[Notice],
    reason: str | None,
    count: int,
) -> None:
    status = NOTIFIED_STATUS[action]
    told = reason if action in (A.REJECT, A.BAN) else None
    if action == A.REJECT and not (reason or "").strip():
        told = lifecycle.DEFAULT_REJECT_REASON
    notices = [(str(n.author_id), {"art_id": n.article_id, "art_title": n.title}) for n in moved]

    async def count_and_notify() -> None:
        if action == A.APPROVE:
            await activity.count_now(runtime.store, StatisticsType.ARTICLE, count)
        for room, payload in notices:
            data = {**payload, "status": int(status), "reason": told, "timestamp": now_ms()}
            try:
                await runtime.notifier.emit(REVIEW, data, room)
            except Exception:
                log.exception("review.notify_failed article=%s", payload["art_id"])

    on_commit(session, count_and_notify)
