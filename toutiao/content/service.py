"""An author's own articles as the authoring screens show them (mp.md §3.6, §3.7)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.content import policy, repository
from toutiao.content.policy import Actor
from toutiao.content.repository import ArticleFilter
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime
from toutiao.stats import counters as c

log = logging.getLogger("toutiao.content")


@dataclass(frozen=True)
class AuthorArticle:
    id: int
    title: str
    status: int  # 0-4, as the author's front end shows it
    pubdate: datetime  # the creation time (mp.md §7 item 2)
    cover: dict[str, Any]
    channel_id: int
    allow_comment: bool
    reject_reason: str | None
    comment_count: int
    fans_comment_count: int


@dataclass(frozen=True)
class AuthorArticleDetail:
    id: int
    title: str
    content: str
    cover: dict[str, Any]
    channel_id: int
    status: int
    pubdate: datetime
    reject_reason: str | None


def cover_of(article: Article) -> dict[str, Any]:
    cover = article.cover or {}
    return {"type": int(cover.get("type", 0)), "images": list(cover.get("images") or [])}


def _reason(article: Article) -> str | None:
    if article.status in (ArticleStatus.REJECTED, ArticleStatus.BANNED):
        return article.reject_reason or ""
    return None


async def _comment_counts(runtime: Runtime, rows: list[repository.ListedArticle]) -> dict[int, int]:
    ids = [row.article.article_id for row in rows]
    try:
        live = await c.read_many(runtime.store, (c.ARTICLE_COMMENTS,), ids)
    except RedisError:
        log.warning("content.comment_counts_degraded: using the stored column")
        return {row.article.article_id: row.article.comment_count for row in rows}
    return {a: live[a][c.ARTICLE_COMMENTS.key] for a in ids}


async def author_articles(
    runtime: Runtime,
    session: AsyncSession,
    author_id: int,
    where: ArticleFilter,
    *,
    offset: int,
    limit: int,
) -> tuple[list[AuthorArticle], int]:
    rows, total = await repository.author_articles(
        session, author_id, where, offset=offset, limit=limit
    )
    comments = await _comment_counts(runtime, rows) if rows else {}
    items = [
        AuthorArticle(
            id=row.article.article_id,
            title=row.article.title,
            status=policy.reported_status(row.article.status),
            pubdate=row.article.create_time,
            cover=cover_of(row.article),
            channel_id=row.article.channel_id,
            allow_comment=bool(row.article.allow_comment),
            reject_reason=_reason(row.article),
            comment_count=comments.get(row.article.article_id, 0),
            fans_comment_count=row.fans_comment_count,
        )
        for row in rows
    ]
    return items, total


async def author_article(
    session: AsyncSession, actor: Actor, article_id: int
) -> AuthorArticleDetail:
    """One article for editing; deleted ones too. Someone else's: 404."""
    article = policy.visible_to(actor, await repository.get_article(session, article_id))
    content = await repository.get_content(session, article_id) or ""
    return AuthorArticleDetail(
        id=article.article_id,
        title=article.title,
        content=content,
        cover=cover_of(article),
        channel_id=article.channel_id,
        status=policy.reported_status(article.status),
        pubdate=article.create_time,
        reject_reason=_reason(article),
    )


async def search_author_articles(
    runtime: Runtime,
    session: AsyncSession,
    author_id: int,
    words: str,
    *,
    offset: int,
    limit: int,
) -> tuple[list[AuthorArticle], int]:
    """The author's own articles (deleted ones aside) whose title contains ``words``. SQL,
    not the search index: the index holds approved articles only, an author searches all."""
    where = ArticleFilter(title=words)
    return await author_articles(runtime, session, author_id, where, offset=offset, limit=limit)
