from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from toutiao.engines.storage import Storage, create_storage
from toutiao.kit.db import Database
from toutiao.kit.ids import Snowflake
from toutiao.kit.migrate import upgrade
from toutiao.models import (
    Announcement,
    Article,
    ArticleAttitude,
    ArticleContent,
    Channel,
    Collection,
    Comment,
    CommentLiking,
    SensitiveWord,
    User,
    UserProfile,
    UserRelation,
)
from toutiao.models.base import local_now
from toutiao.models.enums import AnnouncementStatus, ArticleStatus, CommentStatus
from toutiao.seed.demo import SeedReport, seed_demo
from toutiao.seed.words import TOPICS
from toutiao.stats import counters
from toutiao.stats.service import user_counts_from_db

MOBILE = re.compile(r"1[3-9]\d{9}")
FIXED_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


async def _sqlite_db(path: Path) -> Database:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    return Database.from_urls(url)


def _storage(path: Path) -> Storage:
    return create_storage(f"file://{path}", public_url="http://testserver")


@pytest.fixture(scope="module")
async def seeded(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Database, Storage, SeedReport]]:
    root = tmp_path_factory.mktemp("seed")
    db, storage = await _sqlite_db(root / "demo.db"), _storage(root / "media")
    report = await seed_demo(db, storage, Snowflake(0, 1), progress=False)
    yield db, storage, report
    await db.dispose()


async def _count(db: Database, model: Any, *where: Any) -> int:
    async with db.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


class TestDemoData:
    async def test_report_matches_rows(self, seeded: tuple[Database, Storage, SeedReport]) -> None:
        db, _, report = seeded
        assert not report.skipped
        assert (report.users, report.articles) == (40, 1200)
        expected = {
            Channel: report.channels,
            User: report.users,
            UserProfile: report.users,
            Article: report.articles,
            ArticleContent: report.articles,
            UserRelation: report.follows,
            ArticleAttitude: report.attitudes,
            Collection: report.collections,
            Comment: report.comments,
            CommentLiking: report.comment_likes,
            Announcement: report.announcements,
        }
        for model, count in expected.items():
            assert await _count(db, model) == count > 0, model.__tablename__
        assert sum(report.articles_by_status.values()) == report.articles

    async def test_status_mix(self, seeded: tuple[Database, Storage, SeedReport]) -> None:
        db, _, report = seeded
        async with db.read_session() as session:
            rows = (await session.execute(select(Article.status, Article.pubdate))).all()
        statuses = Counter(status for status, _ in rows)
        assert 0.9 * len(rows) < statuses[ArticleStatus.APPROVED] < len(rows)
        for other in (
            ArticleStatus.DRAFT,
            ArticleStatus.PENDING,
            ArticleStatus.REJECTED,
            ArticleStatus.DELETED,
        ):
            assert statuses[other] > 0, other
        assert all(
            (pubdate is not None) == (status == ArticleStatus.APPROVED) for status, pubdate in rows
        )
        assert report.articles_by_status["approved"] == statuses[ArticleStatus.APPROVED]

    async def test_editor_has_an_article_in_every_status(
        self, seeded: tuple[Database, Storage, SeedReport]
    ) -> None:
        db, _, report = seeded
        assert report.editor_articles == 6 and report.sensitive_words > 0
        async with db.read_session() as session:
            editor = await session.scalar(select(User).where(User.mobile == "13911111111"))
            rows = (
                await session.execute(
                    select(Article.status, Article.reject_reason).where(
                        Article.user_id == editor.user_id,
                        Article.create_time > local_now() - timedelta(days=2),
                    )
                )
            ).all()
        statuses = {status for status, _ in rows}
        assert statuses >= {
            ArticleStatus.DRAFT,
            ArticleStatus.PENDING,
            ArticleStatus.APPROVED,
            ArticleStatus.REJECTED,
            ArticleStatus.DELETED,
        }
        assert all(reason for status, reason in rows if status == ArticleStatus.REJECTED)
        assert await _count(db, SensitiveWord) == report.sensitive_words

    async def test_editor_and_users(self, seeded: tuple[Database, Storage, SeedReport]) -> None:
        db, storage, _ = seeded
        async with db.read_session() as session:
            users = (await session.scalars(select(User))).all()
        editor = next(u for u in users if u.mobile == "13911111111")
        assert editor.user_name == "黑马小编"
        assert editor.is_media
        assert editor.profile_photo
        assert await storage.get(editor.profile_photo) is not None
        mobiles = [u.mobile for u in users]
        assert len(set(mobiles)) == len(mobiles)
        assert all(MOBILE.fullmatch(m) for m in mobiles)
        media = [u for u in users if u.is_media]
        assert len(users) // 4 <= len(media) <= len(users) // 2
        assert all(u.certificate for u in media)
        assert any(u.introduction for u in users)
        assert 5 < sum(1 for u in users if u.profile_photo) < len(users)

    async def test_channels(self, seeded: tuple[Database, Storage, SeedReport]) -> None:
        db, _, _ = seeded
        async with db.read_session() as session:
            channels = (await session.scalars(select(Channel))).all()
        assert len(channels) >= 20
        assert all(c.is_visible for c in channels)
        assert 6 <= sum(c.is_default for c in channels) <= 10
        assert len({c.sequence for c in channels}) == len(channels)
        assert {"python", "人工智能", "前端", "数据库"} <= {c.channel_name for c in channels}

    async def test_articles_have_content_and_valid_covers(
        self, seeded: tuple[Database, Storage, SeedReport]
    ) -> None:
        db, _, _ = seeded
        query = (
            select(Article.title, Article.cover, ArticleContent.content)
            .join(ArticleContent, ArticleContent.article_id == Article.article_id)
            .where(Article.status == ArticleStatus.APPROVED)
        )
        async with db.read_session() as session:
            rows = (await session.execute(query)).all()
        assert len(rows) == await _count(db, Article, Article.status == ArticleStatus.APPROVED)
        for title, cover, content in rows:
            assert 8 <= len(title) <= 40, title
            assert cover["type"] in (0, 1, 3)
            assert len(cover["images"]) == cover["type"]
            assert all(url.startswith("http://testserver/media/") for url in cover["images"])
            assert 3 <= content.count("<p>") <= 16
        assert any("<pre><code" in c for _, _, c in rows)
        assert any("<img " in c for _, _, c in rows)
        assert len({len(title) for title, _, _ in rows}) > 15

    async def test_phrases_repeat_across_titles(
        self, seeded: tuple[Database, Storage, SeedReport]
    ) -> None:
        db, _, _ = seeded
        async with db.read_session() as session:
            titles = (await session.scalars(select(Article.title))).all()
        phrases = [p for topic in TOPICS for p in topic.phrases]
        repeated = [p for p in phrases if sum(p in t for t in titles) >= 3]
        assert len(repeated) >= 10

    async def test_pubdates_cluster_toward_recent_days(
        self, seeded: tuple[Database, Storage, SeedReport]
    ) -> None:
        db, _, _ = seeded
        async with db.read_session() as session:
            dates = (
                await session.scalars(select(Article.pubdate).where(Article.pubdate.is_not(None)))
            ).all()
        now = local_now()
        assert all(now - timedelta(days=91) <= d <= now for d in dates)
        recent = sum(d > now - timedelta(days=30) for d in dates)
        assert recent > 2 * sum(d < now - timedelta(days=60) for d in dates)

    async def test_snapshot_counts_are_consistent(
        self, seeded: tuple[Database, Storage, SeedReport]
    ) -> None:
        db, _, _ = seeded
        visible = (
            select(func.count())
            .where(
                Comment.article_id == Article.article_id, Comment.status == CommentStatus.APPROVED
            )
            .scalar_subquery()
        )
        async with db.read_session() as session:
            mismatched = await session.scalar(
                select(func.count()).where(Article.comment_count != visible)
            )
            users = (await session.scalars(select(User))).all()
            counts = await user_counts_from_db(session, [u.user_id for u in users])
        assert mismatched == 0
        for user in users:
            assert user.article_count == counts[user.user_id][counters.USER_ARTICLES.key]
            assert user.fans_count == counts[user.user_id][counters.USER_FANS.key]
        assert (
            await _count(db, Announcement, Announcement.status == AnnouncementStatus.PUBLISHED) == 2
        )

    async def test_second_run_is_skipped(
        self, seeded: tuple[Database, Storage, SeedReport]
    ) -> None:
        db, storage, _ = seeded
        again = await seed_demo(db, storage, Snowflake(0, 1), progress=False)
        assert again.skipped
        assert again.articles == 0
        assert await _count(db, Article) == 1200


async def _titles(db: Database) -> list[tuple[int, str]]:
    async with db.read_session() as session:
        rows = await session.execute(
            select(Article.article_id, Article.title).order_by(Article.article_id)
        )
        return [(article_id, title) for article_id, title in rows]


async def test_same_seed_gives_same_data(tmp_path: Path) -> None:
    results = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        db = await _sqlite_db(tmp_path / f"{name}.db")
        ids = Snowflake(0, 1, clock=lambda: FIXED_NS)
        await seed_demo(
            db,
            _storage(tmp_path / "media"),
            ids,
            users=12,
            articles=150,
            seed=seed,
            progress=False,
            cover_images=3,
        )
        results.append(await _titles(db))
        await db.dispose()
    first, second, other = results
    assert first == second
    assert len(first) == 150
    assert [t for _, t in first] != [t for _, t in other]


async def test_tiny_seed_without_covers(tmp_path: Path) -> None:
    db = await _sqlite_db(tmp_path / "tiny.db")
    report = await seed_demo(
        db,
        _storage(tmp_path / "media"),
        Snowflake(0, 1),
        users=1,
        articles=5,
        progress=False,
        cover_images=0,
    )
    assert (report.users, report.articles) == (1, 5)
    async with db.read_session() as session:
        covers = (await session.scalars(select(Article.cover))).all()
    assert all(c == {"type": 0, "images": []} for c in covers)
    await db.dispose()


@pytest.mark.skipif(not os.environ.get("TOUTIAO_TEST_DATABASE_URL"), reason="no MariaDB/MySQL URL")
async def test_seed_on_mysql(tmp_path: Path) -> None:
    server = make_url(os.environ["TOUTIAO_TEST_DATABASE_URL"])
    name = f"toutiao_seed_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(server.set(database=""))
    async with admin.begin() as conn:
        await conn.execute(
            text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        await upgrade(url)
        db = Database.from_urls(url)
        report = await seed_demo(db, _storage(tmp_path / "media"), Snowflake(0, 2), progress=False)
        assert report.articles == await _count(db, Article) == 1200
        assert report.comments == await _count(db, Comment)
        async with db.read_session() as session:
            editor = await session.scalar(select(User).where(User.mobile == "13911111111"))
            body = await session.scalar(select(ArticleContent.content).limit(1))
        assert editor is not None
        assert editor.user_name == "黑马小编"
        assert body
        assert "<p>" in body
        assert (
            await seed_demo(db, _storage(tmp_path / "media"), Snowflake(0, 2), progress=False)
        ).skipped
        await db.dispose()
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await admin.dispose()


async def test_a_stopped_seed_resumes_where_it_stopped(tmp_path: Path) -> None:
    """Each batch of articles commits on its own: a seed stopped after two batches keeps
    them, the next run starts at the third and ends with the same articles as a seed that
    was never stopped."""
    kwargs: dict[str, Any] = {
        "users": 12,
        "articles": 160,
        "seed": 5,
        "progress": False,
        "cover_images": 3,
        "batch": 40,
    }
    straight = await _sqlite_db(tmp_path / "straight.db")
    await seed_demo(straight, _storage(tmp_path / "media"), Snowflake(0, 1), **kwargs)
    db = await _sqlite_db(tmp_path / "stopped.db")
    storage = _storage(tmp_path / "media")
    first = await seed_demo(db, storage, Snowflake(0, 1), max_batches=2, **kwargs)
    assert first.stopped and first.articles == 80
    assert await _count(db, Article) == 80
    assert await _count(db, SensitiveWord) == 0  # the last step has not run
    assert await _count(db, User) == 12
    second = await seed_demo(db, storage, Snowflake(0, 1), **kwargs)
    assert not second.stopped and not second.skipped
    assert second.resumed_at == 80
    assert second.articles == 160 - 80  # 74 generated in two batches, then the shelf's 6
    assert await _count(db, Article) == 160
    assert await _count(db, User) == 12  # people are not made twice
    assert await _count(db, SensitiveWord) > 0
    titles = [t for _, t in await _titles(db)]
    assert titles == [t for _, t in await _titles(straight)]
    assert (await seed_demo(db, storage, Snowflake(0, 1), **kwargs)).skipped
    for database in (db, straight):
        await database.dispose()


async def test_reader_histories_are_long_tailed(
    seeded: tuple[Database, Storage, SeedReport],
) -> None:
    """Most readers react to a few dozen articles, the first few to many times more."""
    db, _, _ = seeded
    async with db.read_session() as session:
        rows = await session.execute(
            select(ArticleAttitude.user_id, func.count()).group_by(ArticleAttitude.user_id)
        )
        per_reader = sorted(int(n) for _, n in rows)
    median = per_reader[len(per_reader) // 2]
    assert median < 200
    assert per_reader[-1] > 5 * median
    approved = await _count(db, Article, Article.status == ArticleStatus.APPROVED)
    assert per_reader[-1] <= 0.7 * approved
