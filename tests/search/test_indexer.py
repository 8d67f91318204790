"""Documents from the database, and the resumable full reindex."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select, update

from tests.fixtures.factories import Factory
from tests.search.helpers import doc, own_engine
from toutiao.engines.search import SearchUnavailable
from toutiao.engines.search.tantivy_engine import TantivySearch
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime
from toutiao.search import indexer
from toutiao.seed.demo import seed_demo
from toutiao.stats import counters as c


@pytest.fixture
async def engine(runtime: Runtime, tmp_path: Path) -> AsyncIterator[TantivySearch]:
    async with own_engine(runtime, tmp_path / "index") as search:
        yield search


@pytest.fixture
async def author(factory: Factory) -> tuple[int, int]:
    user = await factory.user(name="林小满")
    (channel,) = await factory.channels(["数据库"])
    return user.user_id, channel.channel_id


async def set_status(runtime: Runtime, article_id: int, status: ArticleStatus) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(Article).where(Article.article_id == article_id).values(status=status)
        )
        await session.commit()


async def ids_for(engine: TantivySearch, query: str) -> list[int]:
    return (await engine.search(query, offset=0, limit=50)).ids


class TestSyncArticles:
    async def test_only_approved_articles_are_documents(
        self, runtime: Runtime, engine: TantivySearch, factory: Factory, author: tuple[int, int]
    ) -> None:
        user_id, channel_id = author
        approved = await factory.article(user_id, channel_id, title="索引下推原理")
        pending = await factory.article(
            user_id, channel_id, title="索引下推草稿", status=ArticleStatus.PENDING
        )
        deleted = await factory.article(
            user_id, channel_id, title="索引下推旧文", status=ArticleStatus.DELETED
        )
        assert await indexer.sync_articles(runtime, [approved, pending, deleted, 404]) == (1, 3)
        assert await ids_for(engine, "索引下推") == [approved]
        await set_status(runtime, approved, ArticleStatus.BANNED)
        assert await indexer.sync_articles(runtime, [approved]) == (0, 1)
        assert await ids_for(engine, "索引下推") == []

    async def test_document_fields(
        self, runtime: Runtime, engine: TantivySearch, factory: Factory, author: tuple[int, int]
    ) -> None:
        user_id, channel_id = author
        article_id = await factory.article(
            user_id,
            channel_id,
            title="一篇文章",
            content='<p class="hiddenclass">正文讲<b>覆盖索引</b>&amp;回表</p><script>x=1</script>',
        )
        await c.ARTICLE_LIKES.incr(runtime.store, article_id, 3)
        async with runtime.db.read_session() as session:
            (document,) = await indexer.load_documents(runtime, session, indexer._documents_query())
        assert document.content == "正文讲 覆盖索引 &回表"
        assert (document.author_name, document.channel_name) == ("林小满", "数据库")
        assert (document.like_count, document.comm_count) == (3, 0)
        await indexer.sync_articles(runtime, [article_id])
        for query in ("覆盖索引", "林小满", "数据库"):
            assert await ids_for(engine, query) == [article_id], query
        assert await ids_for(engine, "hiddenclass") == []

    async def test_counts_from_the_database_when_redis_is_down(
        self,
        runtime: Runtime,
        factory: Factory,
        author: tuple[int, int],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        article_id = await factory.article(*author, title="计数")

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RedisConnectionError("down")

        monkeypatch.setattr(runtime.redis.storage.client, "pipeline", broken)
        async with runtime.db.read_session() as session:
            (document,) = await indexer.load_documents(runtime, session, indexer._documents_query())
        assert document.article_id == article_id
        assert (document.comm_count, document.like_count, document.collect_count) == (0, 0, 0)

    def test_chunks_bound_the_text_per_call(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(indexer, "CHUNK_CHARS", 10)
        docs = [doc(i, "t", "x" * n) for i, n in enumerate([4, 4, 4, 20, 1])]
        sizes = [[len(d.content) for d in chunk] for chunk in indexer.chunks(docs)]
        assert sizes == [[4, 4], [4], [20], [1]]


async def seed(runtime: Runtime, articles: int = 150) -> int:
    await seed_demo(
        runtime.db,
        runtime.storage,
        runtime.ids,
        users=6,
        articles=articles,
        seed=7,
        progress=False,
        cover_images=0,
    )
    async with runtime.db.read_session() as session:
        query = select(func.count()).where(Article.status == ArticleStatus.APPROVED)
        return int(await session.scalar(query) or 0)


class TestReindex:
    async def test_everything_approved_and_nothing_else(
        self, runtime: Runtime, engine: TantivySearch, tmp_path: Path
    ) -> None:
        approved = await seed(runtime)
        await engine.index([doc(42, "数据库里没有的文章")])
        seen: list[tuple[int, int]] = []
        report = await indexer.reindex(
            runtime,
            batch=40,
            workers=0,
            progress=lambda done, total: seen.append((done, total)),
            checkpoint=tmp_path / "checkpoint.json",
        )
        assert report.indexed == report.total == approved
        assert seen[-1] == (approved, approved) and len(seen) == -(-approved // 40)
        assert await engine.count() == approved
        assert 42 not in await ids_for(engine, "数据库里没有的文章")
        assert not (tmp_path / "checkpoint.json").exists()
        async with runtime.db.read_session() as session:
            others = (
                await session.execute(
                    select(Article.article_id, Article.title).where(
                        Article.status != ArticleStatus.APPROVED
                    )
                )
            ).all()
        assert others
        for article_id, title in others:
            assert article_id not in await ids_for(engine, title)

    async def test_resume_after_a_failure(
        self,
        runtime: Runtime,
        engine: TantivySearch,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        approved = await seed(runtime)
        await engine.index([doc(42, "数据库里没有的文章")])
        checkpoint = tmp_path / "checkpoint.json"
        real_index = engine.index
        calls = 0

        async def flaky(docs: Any, **kwargs: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise SearchUnavailable()
            await real_index(docs, **kwargs)

        monkeypatch.setattr(engine, "index", flaky)
        with pytest.raises(SearchUnavailable):
            await indexer.reindex(runtime, batch=30, workers=0, checkpoint=checkpoint)
        assert checkpoint.exists()
        assert await engine.count() == 60 + 1

        report = await indexer.reindex(
            runtime, batch=30, resume=True, workers=0, checkpoint=checkpoint
        )
        assert report.resumed_from is not None
        assert report.indexed == approved - 60
        assert await engine.count() == approved  # the stale document went with the purge
        assert not checkpoint.exists()

    async def test_ensure_indexed_fills_an_empty_index_once(
        self, runtime: Runtime, engine: TantivySearch, tmp_path: Path
    ) -> None:
        assert await indexer.ensure_indexed(runtime) is None  # nothing to index
        approved = await seed(runtime, articles=30)
        report = await indexer.ensure_indexed(runtime)
        assert report is not None and report.indexed == approved
        assert await indexer.ensure_indexed(runtime) is None

    async def test_without_resume_a_checkpoint_is_ignored(
        self, runtime: Runtime, engine: TantivySearch, tmp_path: Path
    ) -> None:
        approved = await seed(runtime, articles=40)
        checkpoint = tmp_path / "checkpoint.json"
        checkpoint.write_text(
            '{"engine": "tantivy", "index": "articles", "started_at_ms": 1, '
            '"last_id": 9223372036854775000, "indexed": 5}'
        )
        report = await indexer.reindex(runtime, workers=0, checkpoint=checkpoint)
        assert report.indexed == approved and report.resumed_from is None
