"""What an author sees of their audience: per-article statistics and the dashboard (mp.md
§6.4, §6.5). Counts come from the live Redis counters; when Redis is down, from the
``news_article_statistic`` snapshot and SQL counts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypedDict

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.content.policy import Actor, visible_to
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime
from toutiao.stats import counters as c
from toutiao.stats.author_repository import AuthorStatsRepository
from toutiao.stats.service import user_counts_from_db

log = logging.getLogger("toutiao.stats")

ARTICLE_COUNTERS = (
    c.ARTICLE_READS,
    c.ARTICLE_LIKES,
    c.ARTICLE_DISLIKES,
    c.ARTICLE_COLLECTS,
    c.ARTICLE_COMMENTS,
)
AUTHOR_COUNTERS = (c.USER_FANS, c.USER_READS, c.USER_LIKED)


class ArticleStatistics(TypedDict):
    article_id: int
    read_count: int
    like_count: int
    dislike_count: int
    collect_count: int
    repost_count: int
    comment_count: int
    fans_comment_count: int


class AuthorSummary(TypedDict):
    article_count: int
    approved_count: int
    pending_count: int
    rejected_count: int
    draft_count: int
    fans_count: int
    read_count: int
    like_count: int
    comment_count: int
    collect_count: int


async def articles_statistics(
    runtime: Runtime, session: AsyncSession, article_ids: Sequence[int]
) -> dict[int, ArticleStatistics]:
    """Counters of several articles: one Redis round trip and one query."""
    ids = list(dict.fromkeys(article_ids))
    repo = AuthorStatsRepository.from_session(session)
    snapshots = await repo.snapshots(ids)
    try:
        live = await c.read_many(runtime.store, ARTICLE_COUNTERS, ids)
    except RedisError:
        log.warning("stats.article_counts_degraded: from the snapshot table")
        comments = await repo.comment_counts(ids)
        live = {
            i: {
                c.ARTICLE_READS.key: snapshots[i].read_count if i in snapshots else 0,
                c.ARTICLE_LIKES.key: snapshots[i].like_count if i in snapshots else 0,
                c.ARTICLE_DISLIKES.key: snapshots[i].dislike_count if i in snapshots else 0,
                c.ARTICLE_COLLECTS.key: snapshots[i].collect_count if i in snapshots else 0,
                c.ARTICLE_COMMENTS.key: comments.get(i, 0),
            }
            for i in ids
        }
    result: dict[int, ArticleStatistics] = {}
    for i in ids:
        counts, snapshot = live[i], snapshots.get(i)
        result[i] = {
            "article_id": i,
            "read_count": max(0, counts[c.ARTICLE_READS.key]),
            "like_count": max(0, counts[c.ARTICLE_LIKES.key]),
            "dislike_count": max(0, counts[c.ARTICLE_DISLIKES.key]),
            "collect_count": max(0, counts[c.ARTICLE_COLLECTS.key]),
            "repost_count": snapshot.repost_count if snapshot else 0,
            "comment_count": max(0, counts[c.ARTICLE_COMMENTS.key]),
            "fans_comment_count": snapshot.fans_comment_count if snapshot else 0,
        }
    return result


async def article_statistics(
    runtime: Runtime, session: AsyncSession, author_id: int, article_id: int
) -> ArticleStatistics:
    """One of the author's articles; anyone else's is the same 404 as a missing one."""
    visible_to(Actor.author(author_id), await session.get(Article, article_id))
    return (await articles_statistics(runtime, session, [article_id]))[article_id]


async def _author_counts(runtime: Runtime, session: AsyncSession, author_id: int) -> dict[str, int]:
    try:
        return (await c.read_many(runtime.store, AUTHOR_COUNTERS, [author_id]))[author_id]
    except RedisError:
        from_db = (await user_counts_from_db(session, [author_id]))[author_id]
        return {
            c.USER_FANS.key: from_db[c.USER_FANS.key],
            c.USER_READS.key: 0,
            c.USER_LIKED.key: from_db[c.USER_LIKED.key],
        }


async def author_summary(runtime: Runtime, session: AsyncSession, author_id: int) -> AuthorSummary:
    """The dashboard: articles per status (banned counts as rejected, as the author sees it),
    followers, and the reads, likes, comments and collections the articles received."""
    repo = AuthorStatsRepository.from_session(session)
    statuses = await repo.status_counts(author_id)
    live = await _author_counts(runtime, session, author_id)
    rejected = statuses.get(ArticleStatus.REJECTED, 0) + statuses.get(ArticleStatus.BANNED, 0)
    return {
        "article_count": sum(n for s, n in statuses.items() if s != ArticleStatus.DELETED),
        "approved_count": statuses.get(ArticleStatus.APPROVED, 0),
        "pending_count": statuses.get(ArticleStatus.PENDING, 0),
        "rejected_count": rejected,
        "draft_count": statuses.get(ArticleStatus.DRAFT, 0),
        "fans_count": max(0, live[c.USER_FANS.key]),
        "read_count": max(0, live[c.USER_READS.key]),
        "like_count": max(0, live[c.USER_LIKED.key]),
        "comment_count": await repo.comments_received(author_id),
        "collect_count": await repo.collections_received(author_id),
    }
