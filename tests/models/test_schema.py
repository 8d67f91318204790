"""The migration history builds exactly the schema the models declare, on SQLite and MariaDB.

MariaDB runs when ``TOUTIAO_TEST_DATABASE_URL`` names a server (for example
``mysql+asyncmy://root@127.0.0.1:3306``): each test gets its own utf8mb4 database, dropped
afterwards whatever happens.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from toutiao.kit.migrate import (
    alembic_config,
    current_revision,
    downgrade,
    schema_diff,
    upgrade,
)
from toutiao.models import (
    Article,
    ArticleContent,
    Base,
    Channel,
    Collection,
    User,
    UserProfile,
    UserRelation,
)
from toutiao.models.enums import ArticleStatus, CoverType, Gender, Relation

SERVER_ENV = "TOUTIAO_TEST_DATABASE_URL"
BIG_ID = 2**62 + 12_345  # a Snowflake-sized id, beyond JavaScript's safe integers


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def _execute(engine: AsyncEngine, statement: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement))


@pytest.fixture(params=["sqlite", "mariadb"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}"
        return
    server_url = os.environ.get(SERVER_ENV)
    if not server_url:
        pytest.skip(f"{SERVER_ENV} is not set (e.g. mysql+asyncmy://root@127.0.0.1:3306)")
    server = make_url(server_url)
    name = f"toutiao_schema_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server.set(database=None), poolclass=NullPool)
    try:
        await _execute(
            admin, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        url = server.set(database=name).update_query_dict({"charset": "utf8mb4"})
        yield url.render_as_string(hide_password=False)
    finally:
        await _execute(admin, f"DROP DATABASE IF EXISTS `{name}`")
        await admin.dispose()


@pytest.fixture
async def engine(empty_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade(empty_url)
    migrated = create_async_engine(empty_url, poolclass=NullPool)
    yield migrated
    await migrated.dispose()


def _session(engine: AsyncEngine) -> AsyncSession:
    return AsyncSession(engine, expire_on_commit=False)


async def _table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


class TestMigrations:
    async def test_head_matches_models_and_round_trips(self, empty_url: str) -> None:
        await upgrade(empty_url)
        assert await current_revision(empty_url) == _head()
        assert await schema_diff(empty_url) == []

        await downgrade(empty_url, "base")
        assert await current_revision(empty_url) is None
        probe = create_async_engine(empty_url, poolclass=NullPool)
        try:
            assert await _table_names(probe) <= {"alembic_version"}
        finally:
            await probe.dispose()

        await upgrade(empty_url)
        assert await current_revision(empty_url) == _head()
        assert await schema_diff(empty_url) == []

    async def test_upgrade_is_idempotent_at_head(self, engine: AsyncEngine) -> None:
        url = engine.url.render_as_string(hide_password=False)
        await upgrade(url)
        assert await current_revision(url) == _head()

    async def test_mariadb_tables_are_utf8mb4(self, engine: AsyncEngine) -> None:
        if engine.dialect.name != "mysql":
            pytest.skip("MySQL/MariaDB only")
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT table_name, table_collation, engine FROM information_schema.tables"
                    " WHERE table_schema = DATABASE() AND table_name <> 'alembic_version'"
                )
            )
            tables = rows.all()
        assert len(tables) == len(Base.metadata.tables)
        assert {(collation, kind) for _, collation, kind in tables} == {
            ("utf8mb4_unicode_ci", "InnoDB")
        }


async def _user(session: AsyncSession, user_id: int, mobile: str, name: str = "读者") -> User:
    user = User(user_id=user_id, mobile=mobile, user_name=name)
    session.add(user)
    await session.flush()
    return user


class TestRows:
    async def test_chinese_emoji_and_big_ids_round_trip(self, engine: AsyncEngine) -> None:
        title = "头条：国产大模型发布 🚀🎉 测试"
        body = "<p>正文包含 emoji 😀 和中文。</p>" * 2000  # > 64 KiB of utf8mb4
        cover = {"type": int(CoverType.ONE), "images": ["http://media.example/图片.png"]}
        async with _session(engine) as session:
            author = await _user(session, BIG_ID, "13800000000", "作者😀")
            session.add(UserProfile(user_id=author.user_id, gender=Gender.FEMALE))
            channel = Channel(channel_name="科技🔬", is_visible=True)
            session.add(channel)
            await session.flush()
            session.add(
                Article(
                    article_id=BIG_ID + 1,
                    user_id=author.user_id,
                    channel_id=channel.channel_id,
                    title=title,
                    cover=cover,
                    status=ArticleStatus.APPROVED,
                )
            )
            await session.flush()
            session.add(ArticleContent(article_id=BIG_ID + 1, content=body))
            await session.commit()

        async with _session(engine) as session:
            article = await session.get_one(Article, BIG_ID + 1)
            content = await session.get_one(ArticleContent, BIG_ID + 1)
            profile = await session.get_one(UserProfile, BIG_ID)
            user = await session.get_one(User, BIG_ID)
        assert article.title == title
        assert article.cover == cover
        assert article.user_id == BIG_ID
        assert article.status is ArticleStatus.APPROVED
        assert article.allow_comment is True
        assert article.is_advertising is False
        assert content.content == body
        assert profile.gender is Gender.FEMALE
        assert user.user_name == "作者😀"
        assert isinstance(user.create_time, datetime)

    async def test_update_time_moves_on_update(self, engine: AsyncEngine) -> None:
        past = datetime(2020, 1, 1)
        async with _session(engine) as session:
            user = await _user(session, 1, "13800000001")
            user.create_time = user.update_time = past
            await session.commit()
            user.introduction = "新的简介"
            await session.commit()
        async with _session(engine) as session:
            reloaded = await session.get_one(User, 1)
        assert reloaded.create_time == past
        assert reloaded.update_time > past

    async def test_user_name_is_not_unique(self, engine: AsyncEngine) -> None:
        async with _session(engine) as session:
            await _user(session, 1, "13800000001", "同名")
            await _user(session, 2, "13800000002", "同名")
            await session.commit()
            names = (await session.scalars(select(User.user_name))).all()
        assert names == ["同名", "同名"]


class TestUniqueKeys:
    async def test_duplicate_relation_pair_is_rejected(self, engine: AsyncEngine) -> None:
        async with _session(engine) as session:
            await _user(session, 1, "13800000001")
            await _user(session, 2, "13800000002")
            session.add(UserRelation(user_id=1, target_user_id=2, relation=Relation.FOLLOW))
            await session.commit()

            session.add(UserRelation(user_id=2, target_user_id=1, relation=Relation.FOLLOW))
            await session.commit()  # the reverse direction is another pair

            session.add(UserRelation(user_id=1, target_user_id=2, relation=Relation.BLACKLIST))
            with pytest.raises(IntegrityError):
                await session.commit()

    async def test_duplicate_mobile_is_rejected(self, engine: AsyncEngine) -> None:
        async with _session(engine) as session:
            await _user(session, 1, "13800000001")
            await session.commit()
            session.add(User(user_id=2, mobile="13800000001", user_name="另一个"))
            with pytest.raises(IntegrityError):
                await session.commit()

    async def test_duplicate_channel_name_is_rejected(self, engine: AsyncEngine) -> None:
        async with _session(engine) as session:
            session.add(Channel(channel_name="财经"))
            await session.commit()
            session.add(Channel(channel_name="财经"))
            with pytest.raises(IntegrityError):
                await session.commit()

    async def test_duplicate_collection_is_rejected(self, engine: AsyncEngine) -> None:
        async with _session(engine) as session:
            await _user(session, 1, "13800000001")
            channel = Channel(channel_name="体育")
            session.add(channel)
            await session.flush()
            session.add(
                Article(article_id=10, user_id=1, channel_id=channel.channel_id, title="标题")
            )
            await session.flush()
            session.add(Collection(user_id=1, article_id=10))
            await session.commit()
            session.add(Collection(user_id=1, article_id=10, is_deleted=True))
            with pytest.raises(IntegrityError):
                await session.commit()
