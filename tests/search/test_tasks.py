"""Index tasks: what ``search.index`` / ``search.remove`` do, and that writers send them only
after a commit (the tier itself, brokers and workers: tests/worker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fixtures.factories import Factory
from tests.search.helpers import own_engine
from tests.worker.helpers import decode_messages
from toutiao.engines.search import SearchUnavailable
from toutiao.engines.search.tantivy_engine import TantivySearch
from toutiao.engines.tasks import broker_url
from toutiao.engines.tasks.celery_queue import CeleryQueue
from toutiao.kit.db import commit
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime
from toutiao.search import tasks


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


class TestTasks:
    async def test_index_then_withdraw_then_remove(
        self, runtime: Runtime, engine: TantivySearch, factory: Factory, place: tuple[int, int]
    ) -> None:
        article_id = await factory.article(*place, title="时序数据库压缩算法")
        await tasks.index_articles(runtime, [article_id])
        assert await found(engine, "时序数据库") == [article_id]

        other = await factory.article(*place, title="时序数据库选型", status=ArticleStatus.PENDING)
        await tasks.index_articles(runtime, [other, article_id])  # not approved: stays out
        assert await found(engine, "时序数据库") == [article_id]
        await tasks.remove_articles(runtime, [article_id])
        assert await found(engine, "时序数据库") == []

    async def test_repeats_in_any_order_end_in_the_database_state(
        self, runtime: Runtime, engine: TantivySearch, factory: Factory, place: tuple[int, int]
    ) -> None:
        first = await factory.article(*place, title="布隆过滤器误判率")
        second = await factory.article(
            *place, title="布隆过滤器的删除", status=ArticleStatus.DELETED
        )
        await tasks.remove_articles(runtime, [first])
        await tasks.index_articles(runtime, [first, second])
        await tasks.index_articles(runtime, [second, first])
        assert await found(engine, "布隆过滤器") == [first]

    async def test_an_engine_failure_raises_so_the_task_is_retried(
        self,
        runtime: Runtime,
        engine: TantivySearch,
        factory: Factory,
        place: tuple[int, int],
        tmp_path: Path,
    ) -> None:
        article_id = await factory.article(*place, title="一致性哈希虚拟节点")
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        runtime.search = TantivySearch(blocker)
        with pytest.raises(SearchUnavailable):
            await tasks.index_articles(runtime, [article_id])
        runtime.search = engine
        await tasks.index_articles(runtime, [article_id])  # the retry
        assert await found(engine, "一致性哈希") == [article_id]

    async def test_sent_only_after_a_commit(self, runtime: Runtime) -> None:
        if runtime.redis.storage.kind == "cluster":
            pytest.skip("Celery's broker is a plain Redis or AMQP beside a cluster, never it")
        settings = runtime.settings.model_copy(
            update={"TASK_BROKER_URL": "", "TASK_QUEUE_PREFIX": "test-search-tasks"}
        )
        queue = CeleryQueue(settings, broker_url(settings, runtime.redis.storage), runtime.store)
        local, runtime.tasks = runtime.tasks, queue
        try:
            async with runtime.db.session() as session:
                tasks.index_after_commit(session, runtime, 1)
                tasks.remove_after_commit(session, runtime, 2)
                await session.rollback()
            async with runtime.db.session() as session:
                tasks.index_after_commit(session, runtime, 3)
                tasks.remove_after_commit(session, runtime, 4)
                await commit(session)
        finally:
            runtime.tasks = local
            await queue.close()
        queued = await runtime.store.lrange("test-search-tasks.search", 0, -1)
        assert sorted(decode_messages(queued)) == [
            ("search.index", [[3]]),
            ("search.remove", [[4]]),
        ]
