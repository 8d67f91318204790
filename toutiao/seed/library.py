"""Demo data of the self-media side: the editor's image library and the per-article
statistic rows (with "comments from fans") that the publishing front end shows."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.engines.storage import Storage
from toutiao.models import Article, ArticleStatistic, Comment, Material, UserRelation
from toutiao.models.enums import CommentStatus, MaterialStatus, MaterialType, Relation
from toutiao.seed import pictures

LIBRARY_SIZE = 14
STAR_EVERY = 3  # every third image is starred
BATCH = 1000


async def library_rows(
    storage: Storage, rng: random.Random, user_id: int, now: datetime, count: int = LIBRARY_SIZE
) -> list[dict[str, Any]]:
    """Pictures stored under their content hash, uploaded over the last weeks, a few starred
    and one deleted (so the library's filters have something to filter)."""
    rows = []
    for index in range(count):
        fmt, ext, mime = (
            ("PNG", "png", "image/png") if index % 5 == 4 else ("JPEG", "jpg", "image/jpeg")
        )
        key = await storage.put(pictures.cover(rng, fmt), content_type=mime, ext=ext)
        when = (now - timedelta(days=count - index, hours=rng.uniform(0, 12))).replace(
            microsecond=0
        )
        rows.append(
            {
                "user_id": user_id,
                "type": MaterialType.IMAGE,
                "hash": key.rsplit("/", 1)[-1].split(".", 1)[0],
                "url": key,
                "status": MaterialStatus.DELETED if index == 1 else MaterialStatus.APPROVED,
                "is_collected": index % STAR_EVERY == 0 and index != 1,
                "create_time": when,
                "update_time": when,
            }
        )
    return rows


async def add_library(
    session: AsyncSession, storage: Storage, rng: random.Random, user_id: int, now: datetime
) -> int:
    rows = await library_rows(storage, rng, user_id, now)
    await session.execute(insert(Material), rows)
    return len(rows)


async def add_article_statistics(
    session: AsyncSession, now: datetime, article_ids: list[int]
) -> int:
    """One ``news_article_statistic`` row for each of these articles, as the mp API creates
    them, with the comments written by followers of the article's author."""
    if not article_ids:
        return 0
    by_fans = await session.execute(
        select(Comment.article_id, func.count())
        .join(Article, Article.article_id == Comment.article_id)
        .join(
            UserRelation,
            and_(
                UserRelation.user_id == Comment.user_id,
                UserRelation.target_user_id == Article.user_id,
                UserRelation.relation == Relation.FOLLOW,
            ),
        )
        .where(Comment.status == CommentStatus.APPROVED, Comment.article_id.in_(article_ids))
        .group_by(Comment.article_id)
    )
    fans = {int(article_id): int(count) for article_id, count in by_fans}
    rows = [
        {
            "article_id": a,
            "fans_comment_count": fans.get(a, 0),
            "create_time": now,
            "update_time": now,
        }
        for a in article_ids
    ]
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(ArticleStatistic), rows[start : start + BATCH])
    return len(rows)


async def count_article_statistics(session: AsyncSession) -> int:
    query = select(func.count()).select_from(ArticleStatistic)
    return int(await session.scalar(query) or 0)
