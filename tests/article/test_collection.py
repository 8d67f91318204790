"""Collections (E40, E41): atomic writes, counters, events, and the per-user collection cache."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.article.test_attitude import (
    count_round_trips,
    make_article,
    read,
    redis_down_runtime,
    withdraw,
    write,
)
from toutiao.article import attitude, collection, lists
from toutiao.kit.cache import TOMBSTONE_SECONDS
from toutiao.kit.db import count_queries
from toutiao.kit.errors import BadRequest
from toutiao.models import Collection
from toutiao.models.enums import ArticleStatus, Attitude
from toutiao.recommend import keys as reco_keys
from toutiao.runtime import Runtime
from toutiao.stats import counters as c


async def collect_counts(runtime: Runtime, article_id: int, user_id: int) -> tuple[int, int]:
    return (
        await c.ARTICLE_COLLECTS.get(runtime.store, article_id),
        await c.USER_COLLECTS.get(runtime.store, user_id),
    )


async def active_rows(runtime: Runtime, article_id: int) -> int:
    async with runtime.db.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Collection)
                .where(Collection.article_id == article_id, Collection.is_deleted.is_(False))
            )
        )


async def events(runtime: Runtime, action: str) -> list[dict[str, str]]:
    entries = await runtime.store.xrange(reco_keys.EVENTS)
    return [fields for _, fields in entries if fields["action"] == action]


async def is_collected(runtime: Runtime, user_id: int, article_id: int) -> bool:
    """What the article detail does: queue on a storage pipeline, then resolve."""
    async with runtime.store.pipeline(transaction=False) as pipe:
        queued = collection.queue_collected_read(pipe, user_id, article_id)
        results = await pipe.execute()
    assert queued == len(results) == 2
    return await read(runtime, collection.resolve_collected, user_id, article_id, results)


@pytest.fixture
async def people(factory) -> dict[str, int]:
    return {name: (await factory.user(name=name)).user_id for name in ("author", "reader")}


@pytest.fixture
async def article(runtime, people) -> int:
    return await make_article(runtime, people["author"])


class TestCollect:
    async def test_collect_uncollect_idempotent_with_counters(self, runtime, people, article):
        reader = people["reader"]
        assert await write(runtime, collection.collect, reader, article, trace="tr-1") is True
        assert await collect_counts(runtime, article, reader) == (1, 1)
        assert await write(runtime, collection.collect, reader, article, trace="tr-2") is False
        assert await collect_counts(runtime, article, reader) == (1, 1)
        assert await write(runtime, collection.uncollect, reader, article) is True
        assert await collect_counts(runtime, article, reader) == (0, 0)
        assert await write(runtime, collection.uncollect, reader, article) is False
        assert await collect_counts(runtime, article, reader) == (0, 0)
        assert await write(runtime, collection.collect, reader, article) is True  # re-activated
        assert await collect_counts(runtime, article, reader) == (1, 1)
        async with runtime.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Collection)) == 1
        assert await c.USER_COLLECTS.get(runtime.store, people["author"]) == 0

    async def test_a_new_collection_is_a_collect_event_with_the_trace(
        self, runtime, people, article
    ):
        reader = people["reader"]
        await write(runtime, collection.collect, reader, article, trace='{"action":"collect"}')
        await write(runtime, collection.collect, reader, article, trace="again")  # no change
        ((event,),) = [await events(runtime, "collect")]
        assert event["user_id"] == str(reader)
        assert event["article_id"] == str(article)
        assert event["param"] == '{"action":"collect"}'
        assert event["channel_id"].isdigit()
        await write(runtime, collection.uncollect, reader, article)
        await write(runtime, collection.collect, reader, article)  # no Trace: still an event
        assert [e["param"] for e in await events(runtime, "collect")] == [
            '{"action":"collect"}',
            "",
        ]

    @pytest.mark.parametrize(
        "status", [ArticleStatus.DRAFT, ArticleStatus.PENDING, ArticleStatus.BANNED]
    )
    async def test_only_approved_articles(self, runtime, people, status):
        target = await make_article(runtime, people["author"], status=status)
        with pytest.raises(BadRequest):
            await write(runtime, collection.collect, people["reader"], target)
        with pytest.raises(BadRequest):
            await write(runtime, collection.collect, people["reader"], 987654321)
        assert await active_rows(runtime, target) == 0

    async def test_uncollect_after_the_article_was_withdrawn(self, runtime, people, article):
        await write(runtime, collection.collect, people["reader"], article)
        await withdraw(runtime, article)
        assert await write(runtime, collection.uncollect, people["reader"], article) is True
        assert await collect_counts(runtime, article, people["reader"]) == (0, 0)

    async def test_fifty_concurrent_collect_uncollect_from_one_user(self, runtime, people, article):
        reader = people["reader"]
        calls = [collection.collect if i % 2 == 0 else collection.uncollect for i in range(50)]
        random.shuffle(calls)

        async def one(fn: Any) -> bool:
            await asyncio.sleep(random.random() / 100)
            return await write(runtime, fn, reader, article)

        results = await asyncio.gather(*(one(fn) for fn in calls))
        rows = await active_rows(runtime, article)
        assert await collect_counts(runtime, article, reader) == (rows, rows)
        made = sum(
            1 for fn, r in zip(calls, results, strict=True) if fn is collection.collect and r
        )
        undone = sum(
            1 for fn, r in zip(calls, results, strict=True) if fn is collection.uncollect and r
        )
        assert made - undone == rows
        assert len(await events(runtime, "collect")) == made

    async def test_many_users_collect_one_article_at_once(self, runtime, factory, article):
        readers = [(await factory.user()).user_id for _ in range(20)]
        await asyncio.gather(*(write(runtime, collection.collect, r, article) for r in readers))
        assert (
            await c.ARTICLE_COLLECTS.get(runtime.store, article)
            == 20
            == await active_rows(runtime, article)
        )


class TestCollectedCache:
    async def test_zero_counter_answers_without_redis_list_or_sql(self, runtime, people, article):
        with count_queries(runtime.db.engines()) as queries:
            assert await is_collected(runtime, people["reader"], article) is False
        assert queries.count == 0
        assert not await runtime.store.exists(collection.collection_key(people["reader"]))

    async def test_cold_fill_then_warm(self, runtime, people, factory):
        reader = people["reader"]
        kept, dropped, never = [await make_article(runtime, people["author"]) for _ in range(3)]
        for target in (kept, dropped):
            await write(runtime, collection.collect, reader, target)
        await write(runtime, collection.uncollect, reader, dropped)
        key = collection.collection_key(reader)
        assert await runtime.store.zrange(key, 0, -1) == ["-2"]  # the write's tombstone
        assert 0 < await runtime.store.ttl(key) <= TOMBSTONE_SECONDS
        assert await is_collected(runtime, reader, kept) is True  # from the database, not cached
        assert await runtime.store.zrange(key, 0, -1) == ["-2"]
        await runtime.store.delete(key)  # the tombstone expired
        assert await is_collected(runtime, reader, kept) is True  # fills
        assert set(await runtime.store.zrange(key, 0, -1)) == {"-1", str(kept)}
        assert 600 <= await runtime.store.ttl(key) <= 720
        with (
            count_queries(runtime.db.engines()) as queries,
            count_round_trips(runtime.store) as trips,
        ):
            for target, expected in ((kept, True), (dropped, False), (never, False)):
                assert await is_collected(runtime, reader, target) is expected
        assert queries.count == 0, queries.statements
        assert trips.count == 3  # one pipeline per question

    async def test_collections_of_withdrawn_articles_are_not_cached(self, runtime, people, article):
        reader = people["reader"]
        other = await make_article(runtime, people["author"])
        for target in (article, other):
            await write(runtime, collection.collect, reader, target)
        await withdraw(runtime, other)
        await runtime.store.delete(collection.collection_key(reader))
        assert await is_collected(runtime, reader, article) is True
        members = await runtime.store.zrange(collection.collection_key(reader), 0, -1)
        assert set(members) == {"-1", str(article)}

    async def test_redis_down(self, runtime, settings, people, article):
        reader = people["reader"]
        async with redis_down_runtime(settings) as broken:
            assert await write(broken, collection.collect, reader, article) is True
            assert await read(broken, collection.resolve_collected, reader, article, []) is True
        assert await active_rows(runtime, article) == 1


class TestTooLongToCache:
    """Past the cache limit a key remembers LARGE: membership is cached per article and the
    lists are paged in SQL, so no request reloads the whole list."""

    async def test_collections_and_attitudes(self, runtime, people, monkeypatch):
        reader = people["reader"]
        made = [await make_article(runtime, people["author"]) for _ in range(3)]
        for target in made:
            await write(runtime, collection.collect, reader, target)
            await write(runtime, attitude.set_attitude, reader, target, Attitude.LIKE)
        await runtime.store.delete(collection.collection_key(reader), attitude.attitude_key(reader))
        monkeypatch.setattr(collection, "LIST_CACHE_LIMIT", 2)
        monkeypatch.setattr(attitude, "ATTITUDE_CACHE_LIMIT", 2)
        assert await is_collected(runtime, reader, made[0]) is True
        key = collection.collection_key(reader)
        assert await runtime.store.zrange(key, 0, -1) == ["-3", str(made[0])]
        for _ in range(2):
            with count_queries(runtime.db.engines()) as queries:
                data = await read(runtime, lists.my_collections, reader, page=2, per_page=2)
            assert data["total_count"] == 3 and len(data["results"]) == 1
            assert all(item["is_liking"] for item in data["results"])
        # remembered as too long: one page of rows and a count, the likes cached per article
        assert len(queries.statements) == 2, queries.statements
        assert "count(" in queries.statements[1]
        assert await read(runtime, attitude.attitudes_of, reader, made) == dict.fromkeys(made, 1)
        assert await runtime.store.hget(attitude.attitude_key(reader), "-3") == "-3"
        with count_queries(runtime.db.engines()) as queries:
            assert await is_collected(runtime, reader, made[0]) is True
            assert await read(runtime, attitude.attitudes_of, reader, made) == dict.fromkeys(
                made, 1
            )
        assert queries.count == 0
        assert await is_collected(runtime, reader, made[1]) is True  # once per article
        assert await runtime.store.zscore(key, str(made[1])) > 0
        await write(runtime, collection.uncollect, reader, made[1])
        assert await runtime.store.zscore(key, "-3") == 0  # still LARGE, the article forgotten
        assert await runtime.store.zscore(key, str(made[1])) < -1_000_000
        assert await is_collected(runtime, reader, made[1]) is False

    async def test_user_articles(self, runtime, people, monkeypatch):
        made = [await make_article(runtime, people["author"]) for _ in range(3)]
        monkeypatch.setattr(collection, "LIST_CACHE_LIMIT", 2)
        pages = [
            await read(runtime, lists.my_articles, people["author"], page=n, per_page=2)
            for n in (1, 2, 3)
        ]
        assert [p["total_count"] for p in pages] == [3, 3, 3]
        assert [[i["art_id"] for i in p["results"]] for p in pages] == [made[:0:-1], made[:1], []]
        key = lists.user_articles_key(people["author"])
        assert await runtime.cache.zrange(key, 0, -1) == ["-3"]  # remembered as too long
