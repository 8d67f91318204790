"""HTTP tests of search, suggestions and search history (app.md E04-E07; §5 items 37, 38).

Each test gets its own empty index (installed as the runtime's engine); articles reach it
through the indexer, as the index worker would put them there.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.fixtures.factories import Factory
from tests.search.helpers import own_engine
from toutiao.api.app.schemas.search import SearchPage, SuggestionOut
from toutiao.api.responses import Envelope
from toutiao.engines.search.elastic import ElasticSearch
from toutiao.engines.search.tantivy_engine import TantivySearch
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime
from toutiao.search import indexer, service, tasks
from toutiao.seed.demo import seed_demo
from toutiao.seed.words import TOPICS
from toutiao.stats import counters as c

BASE = "/app/v1_0"
SEARCH = f"{BASE}/search"
SUGGEST = f"{BASE}/suggestion"
HISTORY = f"{BASE}/search/histories"
ITEM_FIELDS = {
    "art_id",
    "title",
    "aut_id",
    "aut_name",
    "comm_count",
    "pubdate",
    "cover",
    "like_count",
    "collect_count",
}
START = datetime(2025, 3, 1, 9, 0, 0)


@pytest.fixture
async def engine(runtime: Runtime, tmp_path: Path) -> AsyncIterator[TantivySearch]:
    async with own_engine(runtime, tmp_path / "index") as search:
        yield search


class Desk:
    """Writes articles and puts them through the indexer."""

    def __init__(self, runtime: Runtime, factory: Factory, author_id: int, channel_id: int):
        self.runtime, self.factory = runtime, factory
        self.author_id, self.channel_id = author_id, channel_id

    async def article(
        self,
        title: str,
        content: str = "<p>正文</p>",
        *,
        status: ArticleStatus = ArticleStatus.APPROVED,
        pubdate: datetime = START,
        index: bool = True,
    ) -> int:
        article_id = await self.factory.article(
            self.author_id,
            self.channel_id,
            title=title,
            content=content,
            status=status,
            pubdate=pubdate,
        )
        if index:
            await indexer.sync_articles(self.runtime, [article_id])
        return article_id


@pytest.fixture
async def desk(runtime: Runtime, factory: Factory, engine: TantivySearch) -> Desk:
    author = await factory.user(name="周一鸣")
    (channel,) = await factory.channels(["后端"])
    return Desk(runtime, factory, author.user_id, channel.channel_id)


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message"} and isinstance(body["message"], str), body


async def search(
    client: httpx.AsyncClient, q: str, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    response = await client.get(SEARCH, params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "OK"
    data = body["data"]
    assert set(data) == {"page", "per_page", "results", "total_count"}
    for item in data["results"]:
        assert set(item) == ITEM_FIELDS
    # written without FastAPI's response validation: exactly what the model would write
    assert Envelope[SearchPage].model_validate(body).model_dump(mode="json") == body
    return data  # type: ignore[no-any-return]


async def suggest(client: httpx.AsyncClient, q: str) -> list[str]:
    response = await client.get(SUGGEST, params={"q": q})
    assert response.status_code == 200, response.text
    body = response.json()
    assert Envelope[SuggestionOut].model_validate(body).model_dump(mode="json") == body
    options = body["data"]["options"]
    assert isinstance(options, list) and all(isinstance(o, str) for o in options)
    assert len(options) <= 10 and len(set(options)) == len(options)
    return options  # type: ignore[no-any-return]


async def keywords(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get(HISTORY, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]["keywords"]  # type: ignore[no-any-return]


class TestSearch:
    async def test_items_and_relevance(
        self, client: httpx.AsyncClient, desk: Desk, runtime: Runtime
    ) -> None:
        body_only = await desk.article(
            "周报", "<p>限流算法、令牌桶、漏桶，" * 5 + "</p>", pubdate=START + timedelta(days=2)
        )
        titled = await desk.article("令牌桶限流算法详解")
        await c.ARTICLE_LIKES.incr(runtime.store, titled, 2)
        data = await search(client, "令牌桶限流算法")
        assert [r["art_id"] for r in data["results"]] == [titled, body_only]
        first = data["results"][0]
        assert first["title"] == "令牌桶限流算法详解"
        assert first["aut_id"] == desk.author_id and first["aut_name"] == "周一鸣"
        assert (first["like_count"], first["comm_count"], first["collect_count"]) == (2, 0, 0)
        assert first["pubdate"] == "2025-03-01T09:00:00"
        assert first["cover"] == {"type": 0, "images": []}
        assert (data["page"], data["per_page"], data["total_count"]) == (1, 10, 2)

    async def test_words_apart_and_case(self, client: httpx.AsyncClient, desk: Desk) -> None:
        far = await desk.article(
            "读书笔记", "<p>先说倒排索引。</p>" + "<p>无关的段落。</p>" * 30 + "<p>再说跳表。</p>"
        )
        latin = await desk.article("Kafka 消费者组重平衡")
        assert [r["art_id"] for r in (await search(client, "倒排索引跳表"))["results"]] == [far]
        assert [r["art_id"] for r in (await search(client, "KAFKA"))["results"]] == [latin]

    async def test_newest_first_among_equals(self, client: httpx.AsyncClient, desk: Desk) -> None:
        older = await desk.article("同名文章：零拷贝", pubdate=START)
        newer = await desk.article("同名文章：零拷贝", pubdate=START + timedelta(hours=1))
        assert [r["art_id"] for r in (await search(client, "零拷贝"))["results"]] == [newer, older]

    async def test_paging(self, client: httpx.AsyncClient, desk: Desk) -> None:
        ids = [
            await desk.article(f"分页文章 {i}", pubdate=START + timedelta(minutes=i))
            for i in range(12)
        ]
        newest_first = ids[::-1]
        pages = [await search(client, "分页文章", page=p, per_page=5) for p in (1, 2, 3, 4)]
        assert [[r["art_id"] for r in p["results"]] for p in pages] == [
            newest_first[:5],
            newest_first[5:10],
            newest_first[10:],
            [],
        ]
        assert {p["total_count"] for p in pages} == {12}
        assert (pages[1]["page"], pages[1]["per_page"]) == (2, 5)
        assert len((await search(client, "分页文章"))["results"]) == 10

    async def test_paging_through_a_long_tie(self, client: httpx.AsyncClient, desk: Desk) -> None:
        """Thirty equal scores: more than one fetch holds, pages stay in date order, exactly."""
        ids = [
            await desk.article("同分文章", pubdate=START + timedelta(minutes=i)) for i in range(30)
        ]
        pages = [await search(client, "同分文章", page=p, per_page=5) for p in range(1, 7)]
        assert [r["art_id"] for p in pages for r in p["results"]] == ids[::-1]

    @pytest.mark.parametrize(
        "params",
        [
            {},
            {"q": ""},
            {"q": "   "},
            {"q": "长" * 51},
            {"q": "a", "page": 0},
            {"q": "a", "per_page": 51},
            {"q": "a", "per_page": "ten"},
        ],
    )
    async def test_bad_parameters(
        self, client: httpx.AsyncClient, engine: TantivySearch, params: dict[str, Any]
    ) -> None:
        assert_error(await client.get(SEARCH, params=params), 400)

    async def test_a_bad_token_is_401(
        self, client: httpx.AsyncClient, engine: TantivySearch, factory: Factory
    ) -> None:
        user = await factory.user()
        bad = {"Authorization": "Bearer not-a-token"}
        assert_error(await client.get(SEARCH, params={"q": "x"}, headers=bad), 401)
        refresh = factory.headers(user.user_id, refresh=True)
        assert_error(await client.get(SEARCH, params={"q": "x"}, headers=refresh), 401)
        anonymous = {"Authorization": "Anony device-1"}
        assert (await search(client, "x", headers=anonymous))["results"] == []

    async def test_a_typo_finds_what_its_correction_finds(
        self, client: httpx.AsyncClient, desk: Desk, factory: Factory
    ) -> None:
        wanted = await desk.article("Python 异步编程入门")
        await desk.article("编程随笔", "<p>部门周会纪要</p>")
        data = await search(client, "pyhton")  # no article holds it
        assert [r["art_id"] for r in data["results"]] == [wanted]
        assert data["total_count"] == 1
        me = factory.headers((await factory.user()).user_id)
        await search(client, "pyhton", me)  # answered by the correction: no popularity vote
        assert await desk.runtime.store.zscore(service.POPULAR_KEY, "pyhton") is None
        await search(client, "python", me)
        assert await desk.runtime.store.zscore(service.POPULAR_KEY, "python") == 1

    async def test_blacklists_hide_results_both_ways(
        self, client: httpx.AsyncClient, desk: Desk, factory: Factory
    ) -> None:
        hidden = await desk.article("熔断降级实战")
        other_author = await factory.user(name="另一位作者")
        shown = await Desk(desk.runtime, factory, other_author.user_id, desk.channel_id).article(
            "熔断降级指南"
        )
        blocker, blocked = await factory.user(), await factory.user()
        everyone = {r["art_id"] for r in (await search(client, "熔断降级"))["results"]}
        assert everyone == {hidden, shown}
        # The reader blacklisted the author; the author blacklisted the other reader.
        for owner, target in ((blocker, desk.author_id), (desk.author_id, blocked.user_id)):
            response = await client.post(
                f"{BASE}/user/blacklists",
                json={"target": target},
                headers=factory.headers(owner if isinstance(owner, int) else owner.user_id),
            )
            assert response.status_code == 201, response.text
        for reader in (blocker, blocked):
            data = await search(client, "熔断降级", factory.headers(reader.user_id))
            assert [r["art_id"] for r in data["results"]] == [shown]
            assert data["total_count"] == 1
        author = factory.headers(desk.author_id)
        assert {r["art_id"] for r in (await search(client, "熔断降级", author))["results"]} == {
            hidden,
            shown,
        }

    async def test_a_mobile_number_name_is_never_indexed_or_shown(
        self, client: httpx.AsyncClient, desk: Desk, factory: Factory
    ) -> None:
        mobile = "13912345678"
        author = await factory.user(mobile=mobile, name=mobile)  # an account from before
        article = await Desk(desk.runtime, factory, author.user_id, desk.channel_id).article(
            "服务网格入门"
        )
        assert (await search(client, mobile))["results"] == []
        (item,) = (await search(client, "服务网格"))["results"]
        assert item["art_id"] == article and mobile not in item["aut_name"]

    async def test_unapproved_and_deleted_never_appear(
        self, client: httpx.AsyncClient, desk: Desk, runtime: Runtime
    ) -> None:
        kept = await desk.article("幂等性设计：接口篇")
        for status in (
            ArticleStatus.DRAFT,
            ArticleStatus.PENDING,
            ArticleStatus.REJECTED,
            ArticleStatus.DELETED,
            ArticleStatus.BANNED,
        ):
            await desk.article(f"幂等性设计：{status.name}", status=status)
        withdrawn = await desk.article("幂等性设计：撤回篇")
        async with runtime.db.session() as session:
            await session.execute(
                update(Article)
                .where(Article.article_id == withdrawn)
                .values(status=ArticleStatus.DELETED)
            )
            await session.commit()
        # Not re-indexed yet: the hit is dropped at read time, never shown.
        data = await search(client, "幂等性设计")
        assert [r["art_id"] for r in data["results"]] == [kept]
        await tasks.enqueue_index(runtime, withdrawn)  # the tests' local:// tier runs it now
        data = await search(client, "幂等性设计")
        assert ([r["art_id"] for r in data["results"]], data["total_count"]) == ([kept], 1)
        assert await suggest(client, "幂等性设计") == ["幂等性设计：接口篇"]


def found(data: dict[str, Any]) -> list[int]:
    return [r["art_id"] for r in data["results"]]


class TestAnswers:
    """A page of results is kept for SEARCH_CACHE_SECONDS: a repeated query skips the engine
    until the time is up or this process writes to the index."""

    @pytest.fixture
    def asked(self, engine: TantivySearch, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """The queries that reached the engine (it still answers them)."""
        queries: list[str] = []
        real = engine.search

        async def counted(query: str, **kw: Any) -> Any:
            queries.append(query)
            return await real(query, **kw)

        monkeypatch.setattr(engine, "search", counted)
        return queries

    async def test_a_repeated_query_is_answered_until_the_index_changes(
        self, client: httpx.AsyncClient, desk: Desk, factory: Factory, asked: list[str]
    ) -> None:
        first = await desk.article("令牌桶限流算法详解")
        assert found(await search(client, "令牌桶")) == [first]
        assert found(await search(client, "令牌桶")) == [first] and len(asked) == 1
        me = factory.headers((await factory.user()).user_id)  # no blacklist: the same page
        assert found(await search(client, "令牌桶", headers=me)) == [first] and len(asked) == 1
        assert found(await search(client, "令牌桶", page=2)) == [] and len(asked) == 2
        second = await desk.article("令牌桶入门")  # this process wrote to the index
        data = await search(client, "令牌桶")
        assert set(found(data)) == {first, second} and data["total_count"] == 2
        assert len(asked) == 3

    async def test_a_repeated_suggestion_is_completed_until_the_index_changes(
        self,
        client: httpx.AsyncClient,
        desk: Desk,
        engine: TantivySearch,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        calls: list[str] = []
        for name in ("suggest", "correct"):
            real = getattr(engine, name)

            async def counted(
                text: str, *a: Any, _real: Any = real, _name: str = name, **kw: Any
            ) -> Any:
                calls.append(_name)
                return await _real(text, *a, **kw)

            monkeypatch.setattr(engine, name, counted)
        await desk.article("服务网格实践")
        assert await suggest(client, "服务网") == ["服务网格实践"]
        assert await suggest(client, "服务网") == ["服务网格实践"] and calls == ["suggest"]
        await suggest(client, "服务往格")  # nothing completes it: corrected once, then kept
        await suggest(client, "服务往格")
        assert calls == ["suggest", "suggest", "correct"]
        await desk.article("服务网关选型")  # this process wrote to the index
        assert sorted(await suggest(client, "服务网")) == ["服务网关选型", "服务网格实践"]
        assert calls[-1] == "suggest" and len(calls) == 4

    async def test_answers_expire_and_can_be_turned_off(
        self,
        client: httpx.AsyncClient,
        desk: Desk,
        runtime: Runtime,
        asked: list[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        await desk.article("漏桶算法")
        monkeypatch.setattr(runtime.settings, "SEARCH_CACHE_SECONDS", 0.2)
        await search(client, "漏桶")
        await search(client, "漏桶")
        assert len(asked) == 1
        await asyncio.sleep(0.25)
        await search(client, "漏桶")
        assert len(asked) == 2
        monkeypatch.setattr(runtime.settings, "SEARCH_CACHE_SECONDS", 0)
        await search(client, "漏桶")
        await search(client, "漏桶")
        assert len(asked) == 4


class TestHistory:
    async def test_logged_in_first_pages_newest_first(
        self, client: httpx.AsyncClient, desk: Desk, factory: Factory
    ) -> None:
        await desk.article("熔断器模式")
        user = await factory.user()
        me = factory.headers(user.user_id)
        assert await keywords(client, me) == []
        await search(client, "熔断器", headers=me)
        await search(client, "找不到的东西", headers=me)  # no results: still history
        await search(client, "熔断器", headers=me)  # again: moves to the front
        await search(client, "第二页", headers=me, page=2)  # not page 1
        await search(client, "匿名")  # anonymous
        assert await keywords(client, me) == ["熔断器", "找不到的东西"]

    async def test_keeps_the_last_ten(
        self, client: httpx.AsyncClient, engine: TantivySearch, factory: Factory
    ) -> None:
        user = await factory.user()
        me = factory.headers(user.user_id)
        for i in range(12):
            await search(client, f"关键词{i}", headers=me)
        assert await keywords(client, me) == [f"关键词{i}" for i in range(11, 1, -1)]

    async def test_clear(
        self, client: httpx.AsyncClient, engine: TantivySearch, factory: Factory
    ) -> None:
        user, other = await factory.user(), await factory.user()
        await search(client, "保留", headers=factory.headers(other.user_id))
        me = factory.headers(user.user_id)
        await search(client, "清空我", headers=me)
        for _ in range(2):  # idempotent
            response = await client.delete(HISTORY, headers=me)
            assert response.status_code == 204 and response.content == b""
        assert await keywords(client, me) == []
        assert await keywords(client, factory.headers(other.user_id)) == ["保留"]

    async def test_login_required(self, client: httpx.AsyncClient) -> None:
        assert_error(await client.get(HISTORY), 401)
        assert_error(await client.delete(HISTORY), 401)
        anonymous = {"Authorization": "Anony device-1"}
        assert_error(await client.get(HISTORY, headers=anonymous), 401)


class TestSuggestion:
    async def test_titles_complete_the_prefix(self, client: httpx.AsyncClient, desk: Desk) -> None:
        for i in range(12):
            await desk.article(f"Rust 所有权{i}")
        await desk.article("深入理解 Rust 生命周期")
        await desk.article("待审：Rust 宏", status=ArticleStatus.PENDING)
        options = await suggest(client, "rust")
        assert len(options) == 10
        assert all(o.startswith("Rust 所有权") for o in options)
        assert "深入理解 Rust 生命周期" in await suggest(client, "生命")
        assert await suggest(client, "待审") == []
        assert await suggest(client, "完全无关") == []

    async def test_a_typo_gets_a_correction(self, client: httpx.AsyncClient, desk: Desk) -> None:
        await desk.article("Python 异步编程入门")
        await desk.article("Python 异步编程实战")
        assert await suggest(client, "pyhton") == ["python"]
        assert await suggest(client, "异部编程") == ["异步编程"]

    @pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": " "}, {"q": "长" * 51}])
    async def test_bad_parameters(
        self, client: httpx.AsyncClient, engine: TantivySearch, params: dict[str, Any]
    ) -> None:
        assert_error(await client.get(SUGGEST, params=params), 400)

    async def test_popular_queries_need_several_users(
        self, client: httpx.AsyncClient, desk: Desk, factory: Factory
    ) -> None:
        await desk.article("向量数据库：HNSW 索引")
        users = [await factory.user() for _ in range(3)]
        headers = [factory.headers(u.user_id) for u in users]
        for _ in range(5):  # one user, many times: one vote
            await search(client, "向量 数据库", headers=headers[0])
        for _ in range(5):  # anonymous: no vote
            await search(client, "向量 数据库")
        await search(client, "向量 数据库", headers=headers[1])
        assert "向量 数据库" not in await suggest(client, "向量")
        for h in headers:  # only some words found: no vote, however many users
            assert (await search(client, "向量 火星殖民", headers=h))["total_count"] == 1
        await search(client, "向量 数据库", headers=headers[2])
        options = await suggest(client, "向量")
        assert options[0] == "向量 数据库"
        assert "向量数据库：HNSW 索引" in options
        assert "向量 火星殖民" not in options

    async def test_popular_queries_are_trimmed(self, runtime: Runtime) -> None:
        store = runtime.store
        await store.zadd(service.POPULAR_KEY, {"a": 5, "b": 1, "c": 9})
        await store.zadd(service.POPULAR_LEX_KEY, {"a": 0, "b": 0, "c": 0})
        original = service.POPULAR_KEEP
        service.POPULAR_KEEP = 2
        try:
            assert await service.trim_popular(store) == 1
        finally:
            service.POPULAR_KEEP = original
        assert await store.zrange(service.POPULAR_KEY, 0, -1) == ["a", "c"]
        assert await store.zrange(service.POPULAR_LEX_KEY, 0, -1) == ["a", "c"]


class TestSeededCorpus:
    async def test_demo_data_end_to_end(
        self, client: httpx.AsyncClient, runtime: Runtime, engine: TantivySearch
    ) -> None:
        await seed_demo(
            runtime.db,
            runtime.storage,
            runtime.ids,
            users=8,
            articles=400,
            seed=20260101,
            progress=False,
            cover_images=0,
        )
        report = await indexer.reindex(runtime, batch=100, workers=0)
        async with runtime.db.read_session() as session:
            rows = (await session.execute(select(Article.title, Article.status))).all()
        approved = [t for t, s in rows if s == ArticleStatus.APPROVED]
        hidden = {t for t, s in rows if s != ArticleStatus.APPROVED} - set(approved)
        assert report.indexed == len(approved) and hidden
        phrases = [p for topic in TOPICS for p in topic.phrases]
        phrase = next(p for p in phrases if 1 <= sum(p in t for t in approved) <= 3)
        data = await search(client, phrase)
        assert phrase in data["results"][0]["title"]
        assert data["total_count"] >= sum(phrase in t for t in approved)
        for title in list(hidden)[:5]:
            shown = {r["title"] for r in (await search(client, title, per_page=50))["results"]}
            assert title not in shown
            assert title not in await suggest(client, title[:6])


class TestEngineDown:
    async def test_search_is_503_and_the_rest_answers(
        self, client: httpx.AsyncClient, runtime: Runtime, factory: Factory
    ) -> None:
        await factory.channels(["推荐"])
        user = await factory.user()
        me = factory.headers(user.user_id)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        down = ElasticSearch.from_url(
            f"http://127.0.0.1:{port}",
            index="articles",
            index_analyzer="ik_max_word",
            query_analyzer="ik_smart",
            timeout=1.0,
        )
        previous, runtime.search = runtime.search, down
        try:
            assert_error(await client.get(SEARCH, params={"q": "缓存"}, headers=me), 503)
            assert_error(await client.get(SUGGEST, params={"q": "缓存"}), 503)
            assert (await client.get(f"{BASE}/channels")).status_code == 200
            assert (await client.get(HISTORY, headers=me)).status_code == 200
            runtime.search = None
            assert_error(await client.get(SEARCH, params={"q": "缓存"}), 503)
        finally:
            runtime.search = previous
            await down.close()
