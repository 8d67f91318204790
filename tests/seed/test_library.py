"""The self-media side of the demo data: the editor's library, comments, followers, statistics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from toutiao.engines.storage import Storage, create_storage
from toutiao.kit.db import Database
from toutiao.kit.ids import Snowflake
from toutiao.kit.migrate import upgrade
from toutiao.models import (
    Article,
    ArticleStatistic,
    Comment,
    Material,
    User,
    UserProfile,
    UserRelation,
)
from toutiao.models.enums import MaterialStatus, Relation
from toutiao.seed.demo import SeedReport, seed_demo

EDITOR = "13911111111"


@pytest.fixture(scope="module")
async def seeded(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Database, Storage, SeedReport]]:
    root: Path = tmp_path_factory.mktemp("seed-library")
    url = f"sqlite+aiosqlite:///{root / 'demo.db'}"
    await upgrade(url)
    db = Database.from_urls(url)
    storage = create_storage(f"file://{root / 'media'}", public_url="http://testserver")
    report = await seed_demo(db, storage, Snowflake(0, 1), users=24, articles=300, progress=False)
    yield db, storage, report
    await db.dispose()


async def _editor(db: Database) -> int:
    async with db.read_session() as session:
        return int(await session.scalar(select(User.user_id).where(User.mobile == EDITOR)))


async def test_the_editors_library(seeded) -> None:
    db, storage, report = seeded
    editor = await _editor(db)
    async with db.read_session() as session:
        rows = (await session.scalars(select(Material).where(Material.user_id == editor))).all()
    assert len(rows) == report.library_images >= 10
    listed = [r for r in rows if r.status != MaterialStatus.DELETED]
    assert 0 < sum(r.is_collected for r in listed) < len(listed)
    assert len(listed) < len(rows)  # one deleted, for the filters
    for row in rows:
        data = await storage.get(row.url)
        assert data is not None and row.url.endswith((".jpg", ".png")) and row.hash in row.url
    assert len({r.hash for r in rows}) == len(rows)


async def test_comments_and_followers_with_profiles(seeded) -> None:
    db, _, _ = seeded
    editor = await _editor(db)
    async with db.read_session() as session:
        comments = await session.scalar(
            select(func.count())
            .select_from(Comment)
            .join(Article, Article.article_id == Comment.article_id)
            .where(Article.user_id == editor)
        )
        fans = (
            await session.execute(
                select(UserProfile.gender, UserProfile.birthday, UserProfile.area)
                .join(UserRelation, UserRelation.user_id == UserProfile.user_id)
                .where(
                    UserRelation.target_user_id == editor, UserRelation.relation == Relation.FOLLOW
                )
            )
        ).all()
    assert comments > 0
    assert len(fans) >= 3
    assert any(birthday for _, birthday, _ in fans) and any(area for _, _, area in fans)


async def test_every_article_has_a_statistic_row_with_fans_comments(seeded) -> None:
    db, _, report = seeded
    async with db.read_session() as session:
        rows = (await session.scalars(select(ArticleStatistic))).all()
    assert len(rows) == report.article_statistics == report.articles
    assert sum(r.fans_comment_count for r in rows) > 0
