"""The index queue: changes reach the index in the background and survive failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fixtures.factories import Factory
from tests.search.helpers import own_engine
from toutiao.engines.search import SearchUnavailable
from toutiao.engines.search.tantivy_engine import TantivySearch
from toutiao.kit.db import commit
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime
from toutiao.search import tasks
from toutiao.search.tasks import PROCESSING_KEY, QUEUE_KEY


@pytest.fixture
async def engine(runtime: Runtime, tmp_path: Path) -> AsyncIterator[TantivySearch]:
    async with own_engine(runtime, tmp_path / "index") as search:
        yield search


@pytest.fixture
async def place(factory: Factory) -> tuple[int, int]:
    user = await factory.user()
    (channel,) = await factory.channels(["科技"])
    return user.user_id, channel.channel_id


async def found(engine: TantivySearch, query: str) -> list[int]:
    return (await engine.search(query, offset=0, limit=10)).ids


class TestQueue:
    async def test_index_then_withdraw_then_remove(
        self, runtime: Runtime, engine: TantivySearch, factory: Factory, place: tuple[int, int]
    ) -> None:
        article_id = await factory.article(*place, title="时序数据库压缩算法")
        await tasks.enqueue_index(runtime, article_id)
        assert await found(engine, "时序数据库") == []  # nothing happens in the request
        assert await tasks.drain_once(runtime) == 1
        assert await found(engine, "时序数据库") == [article_id]
        assert await tasks.drain_once(runtime) == 0

        other = await factory.article(*place, title="时序数据库选型", status=ArticleStatus.PENDING)
        await tasks.enqueue_index(runtime, other)  # not approved: stays out
        await tasks.enqueue_remove(runtime, article_id)
        assert await tasks.drain_once(runtime) == 2
        assert await found(engine, "时序数据库") == []
        assert await runtime.store.llen(QUEUE_KEY) == 0
        assert await runtime.store.exists(PROCESSING_KEY) == 0

    async def test_the_last_operation_wins(
        self, runtime: Runtime, engine: TantivySearch, factory: Factory, place: tuple[int, int]
    ) -> None:
        first = await factory.article(*place, title="布隆过滤器误判率")
        second = await factory.article(*place, title="布隆过滤器的删除")
        await tasks.enqueue_index(runtime, first, second)
        await tasks.enqueue_remove(runtime, first)
        await tasks.enqueue_remove(runtime, second)
        await tasks.enqueue_index(runtime, second)
        await runtime.store.lpush(QUEUE_KEY, "not json", '{"op": "explode", "article_id": 1}')
        assert await tasks.drain_once(runtime, batch=50) == 7
        assert await found(engine, "布隆过滤器") == [second]

    async def test_batches(
        self, runtime: Runtime, engine: TantivySearch, factory: Factory, place: tuple[int, int]
    ) -> None:
        ids = [await factory.article(*place, title=f"批量文章{i}") for i in range(5)]
        await tasks.enqueue_index(runtime, *ids)
        assert await tasks.drain_once(runtime, batch=2, block=0.1) == 2
        assert await tasks.drain_once(runtime, batch=2) == 2
        assert await tasks.drain_once(runtime, batch=2) == 1
        assert (await engine.search("批量文章", offset=0, limit=10)).total == 5

    async def test_an_outage_loses_nothing(
        self,
        runtime: Runtime,
        engine: TantivySearch,
        factory: Factory,
        place: tuple[int, int],
        tmp_path: Path,
    ) -> None:
        article_id = await factory.article(*place, title="一致性哈希虚拟节点")
        await tasks.enqueue_index(runtime, article_id)
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        runtime.search = TantivySearch(blocker)
        with pytest.raises(SearchUnavailable):
            await tasks.drain_once(runtime)
        assert await runtime.store.llen(PROCESSING_KEY) == 1
        await tasks.enqueue_index(runtime, 12345)  # queued behind the failed batch
        runtime.search = engine
        assert await tasks.drain_once(runtime) == 1  # the leftover batch first
        assert await found(engine, "一致性哈希") == [article_id]
        assert await tasks.drain_once(runtime) == 1

    async def test_enqueued_only_after_a_commit(
        self, runtime: Runtime, engine: TantivySearch
    ) -> None:
        async with runtime.db.session() as session:
            tasks.index_after_commit(session, runtime, 1)
            tasks.remove_after_commit(session, runtime, 2)
            await session.rollback()
        async with runtime.db.session() as session:
            tasks.index_after_commit(session, runtime, 3)
            tasks.remove_after_commit(session, runtime, 4)
            await commit(session)
        queued = await runtime.store.lrange(QUEUE_KEY, 0, -1)
        assert queued == [
            '{"op":"remove","article_id":4}',
            '{"op":"index","article_id":3}',
        ]


class TestWorker:
    async def test_drains_in_the_background_and_stops(
        self, runtime: Runtime, engine: TantivySearch, factory: Factory, place: tuple[int, int]
    ) -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(tasks.run_index_worker(runtime, stop, idle_wait=0.1))
        try:
            article_id = await factory.article(*place, title="后台索引的文章")
            await tasks.enqueue_index(runtime, article_id)
            for _ in range(100):
                if await found(engine, "后台索引"):
                    break
                await asyncio.sleep(0.05)
            assert await found(engine, "后台索引") == [article_id]
        finally:
            stop.set()
            await asyncio.wait_for(worker, 5)
        assert await runtime.store.exists("reco:lock:search-indexer") == 0

    async def test_survives_failures(
        self, runtime: Runtime, engine: TantivySearch, tmp_path: Path
    ) -> None:
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        runtime.search = TantivySearch(blocker)
        await tasks.enqueue_index(runtime, 1)
        stop = asyncio.Event()
        worker = asyncio.create_task(tasks.run_index_worker(runtime, stop, idle_wait=0.1))
        await asyncio.sleep(0.3)
        assert not worker.done()
        stop.set()
        await asyncio.wait_for(worker, 5)
        assert await runtime.store.llen(PROCESSING_KEY) == 1
