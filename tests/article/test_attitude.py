"""Likes, dislikes and reports (E42-E46) and the per-user attitude cache.

The helpers at the top are shared with the other article tests (``tests/article``,
``tests/api/app/test_article_*.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.fixtures.redis_counter import count_round_trips
from toutiao.article import attitude
from toutiao.article import cache as article_cache
from toutiao.article import cards as article_cards
from toutiao.config import Settings
from toutiao.kit.cache import HASH, TOMBSTONE_SECONDS, fill_items, fill_owned
from toutiao.kit.db import commit, count_queries
from toutiao.kit.errors import BadRequest, Conflict
from toutiao.models import Article, ArticleAttitude, ArticleContent, Channel, Report
from toutiao.models.base import local_now
from toutiao.models.enums import ArticleStatus, Attitude, ReportType
from toutiao.notify import LIKING
from toutiao.recommend import keys as reco_keys
from toutiao.relation import service as relation_service
from toutiao.relation.policy import Blocked
from toutiao.runtime import Runtime, build_runtime
from toutiao.stats import counters as c

LIKE, DISLIKE = Attitude.LIKE, Attitude.DISLIKE

# -- shared helpers -------------------------------------------------------------------------


async def make_channel(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        channel = Channel(channel_name=f"ch{runtime.ids.next_id()}", is_visible=True)
        session.add(channel)
        await session.commit()
    return channel.channel_id


async def make_article(
    runtime: Runtime,
    author_id: int,
    *,
    channel_id: int | None = None,
    title: str = "A title",
    status: ArticleStatus = ArticleStatus.APPROVED,
    pubdate: datetime | None = None,
    cover: dict[str, Any] | None = None,
) -> int:
    """An article row + content; approved ones also bump the author's article counter (which
    the publishing code maintains)."""
    article_id = runtime.ids.next_id()
    channel_id = channel_id or await make_channel(runtime)
    async with runtime.db.session() as session:
        session.add(
            Article(
                article_id=article_id,
                user_id=author_id,
                channel_id=channel_id,
                title=title,
                status=status,
                pubdate=pubdate or local_now(),
                cover=cover or {"type": 0, "images": []},
            )
        )
        await session.flush()
        session.add(ArticleContent(article_id=article_id, content="<p>body</p>"))
        await session.commit()
    if status == ArticleStatus.APPROVED:
        await c.USER_ARTICLES.incr(runtime.store, author_id)
    return article_id


async def withdraw(
    runtime: Runtime, article_id: int, status: ArticleStatus = ArticleStatus.DELETED
) -> None:
    """What mp/mis do when an article stops being published (row and card cache)."""
    async with runtime.db.session() as session:
        await session.execute(
            update(Article).where(Article.article_id == article_id).values(status=status)
        )
        await session.commit()
    await article_cache.forget(runtime.cache, article_id)


async def write(runtime: Runtime, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service write in its own session and commit it (running the after-commit work)."""
    async with runtime.db.session() as session:
        result = await fn(runtime, session, *args, **kwargs)
        await commit(session)
    return result


async def read(runtime: Runtime, fn: Any, *args: Any, **kwargs: Any) -> Any:
    async with runtime.db.read_session() as session:
        return await fn(runtime, session, *args, **kwargs)


async def counts(runtime: Runtime, article_id: int, author_id: int) -> dict[str, int]:
    return {
        "likes": await c.ARTICLE_LIKES.get(runtime.store, article_id),
        "dislikes": await c.ARTICLE_DISLIKES.get(runtime.store, article_id),
        "liked": await c.USER_LIKED.get(runtime.store, author_id),
    }


async def attitude_rows(runtime: Runtime, article_id: int) -> dict[Attitude | None, int]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(ArticleAttitude.attitude, func.count())
            .where(ArticleAttitude.article_id == article_id)
            .group_by(ArticleAttitude.attitude)
        )
        return {value: int(n) for value, n in rows}


def likings(runtime: Runtime) -> list[tuple[str, dict[str, Any], str]]:
    return [sent for sent in runtime.notifier.sent if sent[0] == LIKING]


@contextlib.asynccontextmanager
async def redis_down_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A second runtime on the same database whose Redis is a closed port."""
    broken = build_runtime(
        Settings(
            ENV="testing",
            DATA_DIR=settings.DATA_DIR,
            PUBLIC_URL=settings.PUBLIC_URL,
            DATABASE_URL=settings.database_url,
            REDIS_URL="redis://127.0.0.1:1",
            REDIS_SOCKET_TIMEOUT=0.5,
        ),
        name="test-redis-down",
    )
    try:
        yield broken
    finally:
        await broken.close()


def clear_l1() -> None:
    article_cache.clear_l1()
    article_cards.clear_l1()


@pytest.fixture(autouse=True)
def fresh_process_caches() -> None:
    clear_l1()


@pytest.fixture
async def people(runtime, factory) -> dict[str, int]:
    runtime.notifier.sent.clear()
    names = ("author", "reader", "other")
    return {name: (await factory.user(name=name)).user_id for name in names}


@pytest.fixture
async def article(runtime, people) -> int:
    return await make_article(runtime, people["author"], title="Hello")


# -- likes and dislikes ---------------------------------------------------------------------


class TestLike:
    async def test_new_like_counts_for_article_and_author_and_notifies(
        self, runtime, people, article
    ):
        reader, author = people["reader"], people["author"]
        assert await write(runtime, attitude.set_attitude, reader, article, LIKE) is True
        assert await counts(runtime, article, author) == {"likes": 1, "dislikes": 0, "liked": 1}
        assert await c.USER_LIKED.get(runtime.store, reader) == 0  # facts §14.4: not the liker
        assert await attitude_rows(runtime, article) == {LIKE: 1}
        ((event, payload, room),) = likings(runtime)
        assert room == str(author)
        assert set(payload) == {
            "user_id",
            "user_name",
            "user_photo",
            "art_id",
            "art_title",
            "timestamp",
        }
        assert (payload["user_id"], payload["user_name"], payload["user_photo"]) == (
            reader,
            "reader",
            None,
        )
        assert (payload["art_id"], payload["art_title"]) == (article, "Hello")
        assert isinstance(payload["timestamp"], int) and payload["timestamp"] > 10**12

    async def test_idempotent(self, runtime, people, article):
        for _ in range(3):
            await write(runtime, attitude.set_attitude, people["reader"], article, LIKE)
        assert await counts(runtime, article, people["author"]) == {
            "likes": 1,
            "dislikes": 0,
            "liked": 1,
        }
        assert len(likings(runtime)) == 1  # facts §14.14: no notification without a change
        assert await attitude_rows(runtime, article) == {LIKE: 1}

    async def test_like_and_dislike_exclude_each_other_latest_wins(self, runtime, people, article):
        reader, author = people["reader"], people["author"]
        steps = [
            (attitude.set_attitude, DISLIKE, True, {"likes": 0, "dislikes": 1, "liked": 0}, 0),
            (attitude.set_attitude, LIKE, True, {"likes": 1, "dislikes": 0, "liked": 1}, 1),
            (attitude.set_attitude, DISLIKE, True, {"likes": 0, "dislikes": 1, "liked": 0}, 0),
            (attitude.clear_attitude, LIKE, False, {"likes": 0, "dislikes": 1, "liked": 0}, 0),
            (attitude.clear_attitude, DISLIKE, True, {"likes": 0, "dislikes": 0, "liked": 0}, -1),
            (attitude.clear_attitude, DISLIKE, False, {"likes": 0, "dislikes": 0, "liked": 0}, -1),
            (attitude.set_attitude, LIKE, True, {"likes": 1, "dislikes": 0, "liked": 1}, 1),
            (attitude.clear_attitude, DISLIKE, False, {"likes": 1, "dislikes": 0, "liked": 1}, 1),
            (attitude.clear_attitude, LIKE, True, {"likes": 0, "dislikes": 0, "liked": 0}, -1),
            (attitude.clear_attitude, LIKE, False, {"likes": 0, "dislikes": 0, "liked": 0}, -1),
        ]
        for fn, value, changed, expected, state in steps:
            assert await write(runtime, fn, reader, article, value) is changed, (fn, value)
            assert await counts(runtime, article, author) == expected, (fn, value)
            assert (await read(runtime, attitude.attitudes_of, reader, [article]))[article] == state
        async with runtime.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(ArticleAttitude)) == 1
        assert len(likings(runtime)) == 2  # the two new likes only

    async def test_changes_are_behaviour_events(self, runtime, people, article):
        reader = people["reader"]
        for fn, value in (
            (attitude.set_attitude, LIKE),
            (attitude.set_attitude, LIKE),  # no change, no event
            (attitude.set_attitude, DISLIKE),
            (attitude.clear_attitude, DISLIKE),  # withdrawing is not an event
            (attitude.set_attitude, LIKE),
        ):
            await write(runtime, fn, reader, article, value)
        entries = await runtime.store.xrange(reco_keys.EVENTS)
        assert [f["action"] for _, f in entries] == ["like", "dislike", "like"]
        assert {(f["user_id"], f["article_id"]) for _, f in entries} == {
            (str(reader), str(article))
        }

    async def test_likes_of_several_readers_add_up_per_author(self, runtime, people, factory):
        author = people["author"]
        first = await make_article(runtime, author)
        second = await make_article(runtime, author)
        for who in ("reader", "other"):
            await write(runtime, attitude.set_attitude, people[who], first, LIKE)
        await write(runtime, attitude.set_attitude, people["reader"], second, LIKE)
        assert await c.ARTICLE_LIKES.get(runtime.store, first) == 2
        assert await c.ARTICLE_LIKES.get(runtime.store, second) == 1
        assert await c.USER_LIKED.get(runtime.store, author) == 3

    async def test_own_article_counts_but_never_notifies(self, runtime, people, article):
        author = people["author"]
        assert await write(runtime, attitude.set_attitude, author, article, LIKE) is True
        assert await counts(runtime, article, author) == {"likes": 1, "dislikes": 0, "liked": 1}
        assert likings(runtime) == []

    @pytest.mark.parametrize("who_blocks", ["author", "reader"])
    async def test_refused_across_a_blacklist(self, runtime, people, article, who_blocks):
        """relation/policy.py: a like across a blacklist is refused, not just left silent."""
        blocker, blocked = (people["author"], people["reader"])
        if who_blocks == "reader":
            blocker, blocked = blocked, blocker
        await write(runtime, relation_service.blacklist, blocker, blocked)
        with pytest.raises(Blocked):
            await write(runtime, attitude.set_attitude, people["reader"], article, LIKE)
        assert await c.ARTICLE_LIKES.get(runtime.store, article) == 0
        assert likings(runtime) == []

    @pytest.mark.parametrize(
        "status",
        [
            ArticleStatus.DRAFT,
            ArticleStatus.PENDING,
            ArticleStatus.REJECTED,
            ArticleStatus.DELETED,
            ArticleStatus.BANNED,
        ],
    )
    async def test_only_approved_articles(self, runtime, people, status):
        target = await make_article(runtime, people["author"], status=status)
        for value in (LIKE, DISLIKE):
            with pytest.raises(BadRequest):
                await write(runtime, attitude.set_attitude, people["reader"], target, value)
        assert await attitude_rows(runtime, target) == {}
        assert await counts(runtime, target, people["author"]) == {
            "likes": 0,
            "dislikes": 0,
            "liked": 0,
        }

    async def test_unknown_article(self, runtime, people):
        with pytest.raises(BadRequest):
            await write(runtime, attitude.set_attitude, people["reader"], 987654321, LIKE)
        assert (
            await write(runtime, attitude.clear_attitude, people["reader"], 987654321, LIKE)
            is False
        )

    async def test_a_like_can_be_withdrawn_after_the_article_was(self, runtime, people, article):
        await write(runtime, attitude.set_attitude, people["reader"], article, LIKE)
        await withdraw(runtime, article)
        assert (
            await write(runtime, attitude.clear_attitude, people["reader"], article, LIKE) is True
        )
        assert await counts(runtime, article, people["author"]) == {
            "likes": 0,
            "dislikes": 0,
            "liked": 0,
        }

    async def test_a_failed_transaction_moves_nothing(self, runtime, people, article):
        async with runtime.db.session() as session:
            await attitude.set_attitude(runtime, session, people["reader"], article, LIKE)
            await session.rollback()
        assert await counts(runtime, article, people["author"]) == {
            "likes": 0,
            "dislikes": 0,
            "liked": 0,
        }
        assert await attitude_rows(runtime, article) == {}


class TestConcurrency:
    """The database decides each transition, so bursts can't double count (facts §14.23)."""

    async def _burst(
        self, runtime: Runtime, calls: list[tuple[Any, Attitude]], user_id: int, article_id: int
    ) -> list[Any]:
        async def one(fn: Any, value: Attitude) -> Any:
            await asyncio.sleep(random.random() / 100)
            return await write(runtime, fn, user_id, article_id, value)

        return await asyncio.gather(*(one(fn, value) for fn, value in calls))

    async def test_fifty_like_unlike_from_one_user(self, runtime, people, article):
        reader, author = people["reader"], people["author"]
        calls = [
            (attitude.set_attitude if i % 2 == 0 else attitude.clear_attitude, LIKE)
            for i in range(50)
        ]
        random.shuffle(calls)
        results = await self._burst(runtime, calls, reader, article)
        rows = await attitude_rows(runtime, article)
        likes = rows.get(LIKE, 0)
        assert await counts(runtime, article, author) == {
            "likes": likes,
            "dislikes": 0,
            "liked": likes,
        }
        # every committed like was undone by exactly one committed unlike, or is still there
        made = sum(
            1
            for (fn, _), r in zip(calls, results, strict=True)
            if fn is attitude.set_attitude and r
        )
        undone = sum(
            1
            for (fn, _), r in zip(calls, results, strict=True)
            if fn is attitude.clear_attitude and r
        )
        assert made - undone == likes
        assert len(likings(runtime)) == made

    async def test_fifty_mixed_attitudes_from_one_user(self, runtime, people, article):
        reader, author = people["reader"], people["author"]
        options = [
            (attitude.set_attitude, LIKE),
            (attitude.set_attitude, DISLIKE),
            (attitude.clear_attitude, LIKE),
            (attitude.clear_attitude, DISLIKE),
        ]
        calls = [options[i % 4] for i in range(50)]
        random.shuffle(calls)
        await self._burst(runtime, calls, reader, article)
        rows = await attitude_rows(runtime, article)
        likes, dislikes = rows.get(LIKE, 0), rows.get(DISLIKE, 0)
        assert likes + dislikes <= 1
        assert await counts(runtime, article, author) == {
            "likes": likes,
            "dislikes": dislikes,
            "liked": likes,
        }

    async def test_first_likes_race_one_row_one_count_one_notification(
        self, runtime, people, article
    ):
        results = await self._burst(
            runtime, [(attitude.set_attitude, LIKE)] * 20, people["reader"], article
        )
        assert results.count(True) == 1
        assert await attitude_rows(runtime, article) == {LIKE: 1}
        assert await counts(runtime, article, people["author"]) == {
            "likes": 1,
            "dislikes": 0,
            "liked": 1,
        }
        assert len(likings(runtime)) == 1

    async def test_many_readers_at_once(self, runtime, people, factory, article):
        readers = [(await factory.user()).user_id for _ in range(20)]
        await asyncio.gather(
            *(write(runtime, attitude.set_attitude, r, article, LIKE) for r in readers)
        )
        assert await counts(runtime, article, people["author"]) == {
            "likes": 20,
            "dislikes": 0,
            "liked": 20,
        }
        assert len(likings(runtime)) == 20


# -- the attitude cache ---------------------------------------------------------------------


class TestAttitudeCache:
    async def test_cold_fill_then_warm_without_sql(self, runtime, people, factory):
        reader, author = people["reader"], people["author"]
        liked, disliked, neutral = [await make_article(runtime, author) for _ in range(3)]
        await write(runtime, attitude.set_attitude, reader, liked, LIKE)
        await write(runtime, attitude.set_attitude, reader, disliked, DISLIKE)
        await runtime.store.delete(attitude.attitude_key(reader))  # skip the 5 s tombstone
        expected = {liked: 1, disliked: 0, neutral: -1}
        assert (
            await read(runtime, attitude.attitudes_of, reader, [liked, disliked, neutral])
            == expected
        )
        key = attitude.attitude_key(reader)
        assert await runtime.store.hgetall(key) == {"-1": "-1", str(liked): "1", str(disliked): "0"}
        assert 1800 <= await runtime.store.ttl(key) <= 2400
        with (
            count_queries(runtime.db.engines()) as queries,
            count_round_trips(runtime.store) as trips,
        ):
            assert await read(
                runtime, attitude.attitudes_of, reader, [neutral, liked, disliked]
            ) == {
                neutral: -1,
                liked: 1,
                disliked: 0,
            }
        assert queries.count == 0, queries.statements
        assert trips.count == 1, trips.calls

    async def test_no_attitudes_cached_with_the_short_ttl(self, runtime, people, article):
        reader = people["reader"]
        assert await read(runtime, attitude.attitudes_of, reader, [article]) == {article: -1}
        key = attitude.attitude_key(reader)
        assert await runtime.store.hgetall(key) == {"-1": "-1"}
        assert 300 <= await runtime.store.ttl(key) <= 360
        with count_queries(runtime.db.engines()) as queries:
            assert await read(runtime, attitude.attitudes_of, reader, [article]) == {article: -1}
        assert queries.count == 0
        assert await read(runtime, attitude.attitudes_of, reader, []) == {}

    async def test_a_write_leaves_a_tombstone_that_reads_skip_and_fills_respect(
        self, runtime, people, article
    ):
        reader = people["reader"]
        key = attitude.attitude_key(reader)
        await read(runtime, attitude.attitudes_of, reader, [article])  # cached: none
        await write(runtime, attitude.set_attitude, reader, article, LIKE)
        assert await runtime.store.hgetall(key) == {"-2": "-2"}
        assert 0 < await runtime.store.ttl(key) <= TOMBSTONE_SECONDS
        for _ in range(2):  # read from the database, never cached over the tombstone
            assert await read(runtime, attitude.attitudes_of, reader, [article]) == {article: 1}
            assert await runtime.store.hgetall(key) == {"-2": "-2"}
        await runtime.store.delete(key)  # the tombstone expired
        assert await read(runtime, attitude.attitudes_of, reader, [article]) == {article: 1}
        assert await runtime.store.hget(key, str(article)) == "1"

    async def test_a_stale_load_cannot_be_cached_after_a_write(self, runtime, people, article):
        reader = people["reader"]
        async with runtime.db.read_session() as session:
            stale = await attitude._load_all(session, reader)  # read before the like commits
        await write(runtime, attitude.set_attitude, reader, article, LIKE)
        await fill_owned(  # the slow reader's fill arrives late
            runtime.store,
            HASH,
            attitude.attitude_key(reader),
            attitude.ATTITUDE_TTL,
            attitude._pairs(stale),
            large=False,
        )
        assert await read(runtime, attitude.attitudes_of, reader, [article]) == {article: 1}

    async def test_past_the_limit_the_hash_is_large_and_per_article(
        self, runtime, people, monkeypatch
    ):
        """A reader with more attitudes than the limit: the first read loads limit + 1 rows
        once and remembers LARGE; later articles cost one indexed query each, once, then
        nothing; no request reloads the whole history."""
        monkeypatch.setattr(attitude, "ATTITUDE_CACHE_LIMIT", 3)
        reader, author = people["reader"], people["author"]
        ids = [await make_article(runtime, author) for _ in range(6)]
        for aid in ids[:5]:
            await write(runtime, attitude.set_attitude, reader, aid, LIKE)
        key = attitude.attitude_key(reader)
        await runtime.store.delete(key)
        with count_queries(runtime.db.engines()) as queries:
            assert await read(runtime, attitude.attitudes_of, reader, [ids[0]]) == {ids[0]: 1}
        assert queries.count == 2  # limit + 1 rows (too many), then the one article
        assert await runtime.store.hgetall(key) == {"-3": "-3", str(ids[0]): "1"}
        assert 1800 <= await runtime.store.ttl(key) <= 2400
        with count_queries(runtime.db.engines()) as queries:
            assert await read(runtime, attitude.attitudes_of, reader, ids[4:]) == {
                ids[4]: 1,
                ids[5]: -1,
            }
        assert queries.count == 1 and "LIMIT" not in queries.statements[0].upper()
        with (
            count_queries(runtime.db.engines()) as queries,
            count_round_trips(runtime.store) as trips,
        ):
            assert await read(runtime, attitude.attitudes_of, reader, [ids[5], ids[0]]) == {
                ids[5]: -1,
                ids[0]: 1,
            }
        assert queries.count == 0 and trips.count == 1

        # a write tombstones only its article: the hash stays LARGE
        await write(runtime, attitude.set_attitude, reader, ids[5], DISLIKE)
        assert await runtime.store.hget(key, "-3") == "-3"
        assert (await runtime.store.hget(key, str(ids[5]))).startswith("~")
        with count_queries(runtime.db.engines()) as queries:
            assert await read(runtime, attitude.attitudes_of, reader, [ids[5], ids[0]]) == {
                ids[5]: 0,
                ids[0]: 1,
            }
        assert queries.count == 1  # the written article only, not cached over its tombstone
        assert (await runtime.store.hget(key, str(ids[5]))).startswith("~")
        await runtime.store.hset(key, str(ids[5]), "~1")  # the item tombstone expired
        await read(runtime, attitude.attitudes_of, reader, [ids[5]])
        assert await runtime.store.hget(key, str(ids[5])) == "0"

    async def test_a_stale_item_fill_cannot_land_after_a_write(self, runtime, people, monkeypatch):
        monkeypatch.setattr(attitude, "ATTITUDE_CACHE_LIMIT", 1)
        reader, author = people["reader"], people["author"]
        ids = [await make_article(runtime, author) for _ in range(3)]
        for aid in ids[:2]:
            await write(runtime, attitude.set_attitude, reader, aid, LIKE)
        key = attitude.attitude_key(reader)
        await runtime.store.delete(key)
        await read(runtime, attitude.attitudes_of, reader, [ids[0]])  # LARGE now
        async with runtime.db.read_session() as session:
            stale = await attitude._load_some(session, reader, [ids[2]])  # before the like
        await write(runtime, attitude.set_attitude, reader, ids[2], LIKE)
        await fill_items(runtime.store, HASH, key, attitude._pairs(stale))  # arrives late
        assert await read(runtime, attitude.attitudes_of, reader, [ids[2]]) == {ids[2]: 1}
        assert (await runtime.store.hget(key, str(ids[2]))).startswith("~")

    async def test_queue_and_resolve_on_a_shared_pipeline(self, runtime, people, article):
        reader = people["reader"]
        await write(runtime, attitude.set_attitude, reader, article, DISLIKE)
        await runtime.store.delete(attitude.attitude_key(reader))
        for expected_sql in (True, False):  # cold (fills), then warm
            async with runtime.store.pipeline(transaction=False) as pipe:
                pipe.zscore(c.ARTICLE_LIKES.key, article)
                queued = attitude.queue_attitude_read(pipe, reader, article)
                results = await pipe.execute()
            assert queued == 1
            with count_queries(runtime.db.engines()) as queries:
                value = await read(
                    runtime, attitude.resolve_attitude, reader, article, results[1 : 1 + queued]
                )
            assert value == 0
            assert (queries.count > 0) is expected_sql
        assert (
            await read(runtime, attitude.resolve_attitude, reader, article, []) == 0
        )  # Redis failed

    async def test_redis_down_reads_and_writes_the_database(
        self, runtime, settings, people, article
    ):
        reader = people["reader"]
        async with redis_down_runtime(settings) as broken:
            assert await read(broken, attitude.attitudes_of, reader, [article]) == {article: -1}
            assert await write(broken, attitude.set_attitude, reader, article, LIKE) is True
            assert await read(broken, attitude.attitudes_of, reader, [article]) == {article: 1}
        assert await attitude_rows(runtime, article) == {LIKE: 1}


# -- reports --------------------------------------------------------------------------------


class TestReport:
    async def test_one_report_per_user_and_article(self, runtime, people, article):
        await write(runtime, attitude.report, people["reader"], article, ReportType.VULGAR, None)
        for report_type in (ReportType.VULGAR, ReportType.OTHER):
            with pytest.raises(Conflict):
                await write(
                    runtime, attitude.report, people["reader"], article, report_type, "again"
                )
        await write(runtime, attitude.report, people["other"], article, ReportType.TYPOS, None)
        async with runtime.db.session() as session:
            rows = (
                await session.execute(
                    select(Report.user_id, Report.type).order_by(Report.report_id)
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (people["reader"], ReportType.VULGAR),
            (people["other"], ReportType.TYPOS),
        ]

    async def test_remark_kept_only_for_other(self, runtime, people, factory):
        first = await make_article(runtime, people["author"])
        second = await make_article(runtime, people["author"])
        await write(runtime, attitude.report, people["reader"], first, ReportType.OTHER, "x" * 200)
        await write(
            runtime, attitude.report, people["reader"], second, ReportType.ADVERTORIAL, "ignored"
        )
        async with runtime.db.session() as session:
            remarks = dict((await session.execute(select(Report.article_id, Report.remark))).all())
        assert remarks == {first: "x" * 200, second: None}

    async def test_bad_reports(self, runtime, people, article):
        with pytest.raises(BadRequest):
            await write(
                runtime, attitude.report, people["reader"], article, ReportType.OTHER, "x" * 201
            )
        withdrawn = await make_article(runtime, people["author"], status=ArticleStatus.BANNED)
        for target in (withdrawn, 987654321):
            with pytest.raises(BadRequest):
                await write(
                    runtime, attitude.report, people["reader"], target, ReportType.OTHER, None
                )
        async with runtime.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Report)) == 0

    async def test_concurrent_duplicates_make_one_report(self, runtime, people, article):
        async def one() -> bool:
            try:
                await write(
                    runtime, attitude.report, people["reader"], article, ReportType.TYPOS, None
                )
            except Conflict:
                return False
            return True

        results = await asyncio.gather(*(one() for _ in range(10)))
        assert results.count(True) == 1
        async with runtime.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Report)) == 1
