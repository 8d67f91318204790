"""Demo data of the self-media side: the editor's image library and the per-article
statistic rows (with "comments from fans") that the publishing front end shows."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.engines.storage import Storage
from toutiao.models import ArticleStatistic, Material, UserRelation
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
    session: AsyncSession,
    now: datetime,
    articles: Sequence[dict[str, Any]],
    comments: Iterable[dict[str, Any]],
    follows: Collection[tuple[int, int]],
) -> int:
    """One ``news_article_statistic`` row for each of these articles, as the mp API creates
    them, with the approved comments (of ``comments``, the articles' own) written by
    followers of the article's author: counted here from the rows just made, since a join
    over every comment and relation grows with the catalogue (minutes per batch at 100,000)."""
    authors = {row["article_id"]: row["user_id"] for row in articles}
    fans: Counter[int] = Counter()
    for comment in comments:
        author = authors.get(comment["article_id"])
        if (
            author is not None
            and comment["status"] == CommentStatus.APPROVED
            and (comment["user_id"], author) in follows
        ):
            fans[comment["article_id"]] += 1
    rows = [
        {
            "article_id": article_id,
            "fans_comment_count": fans[article_id],
            "create_time": now,
            "update_time": now,
        }
        for article_id in authors
    ]
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(ArticleStatistic), rows[start : start + BATCH])
    return len(rows)


async def followed_pairs(session: AsyncSession) -> set[tuple[int, int]]:
    """(follower, followed) of every follow."""
    rows = await session.execute(
        select(UserRelation.user_id, UserRelation.target_user_id).where(
            UserRelation.relation == Relation.FOLLOW
        )
    )
    return {(int(a), int(b)) for a, b in rows}


async def count_article_statistics(session: AsyncSession) -> int:
    query = select(func.count()).select_from(ArticleStatistic)
    return int(await session.scalar(query) or 0)
