"""The Elasticsearch engine: the requests it sends (through a recording node), how it reads
answers and failures, and a live round trip when ``TOUTIAO_TEST_ES_URL`` names a server."""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.search.helpers import corpus, doc
from toutiao.config import Settings
from toutiao.engines.search import SearchPage, SearchUnavailable, create_search_engine
from toutiao.engines.search import elastic as es
from toutiao.engines.search.elastic import ElasticSearch
from toutiao.engines.search.tantivy_engine import TantivySearch

Handler = Callable[[str, str, Any], tuple[int, Any]]


class Recorder:
    """A local HTTP server standing in for Elasticsearch: it records every request the real
    client sends over the socket (method, target, decoded body, lower-cased headers) and
    answers what ``handler`` says."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        self.handler: Handler = lambda method, target, body: (200, {})
        recorder = self

        class Handle(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                decoded: Any = None
                if raw:
                    lines = [json.loads(line) for line in raw.decode().splitlines() if line]
                    decoded = lines if "x-ndjson" in headers["content-type"] else lines[0]
                recorder.requests.append((self.command, self.path, decoded, headers))
                status, payload = recorder.handler(self.command, self.path, decoded)
                out = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("x-elastic-product", "Elasticsearch")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

            def log_message(self, *_: Any) -> None:
                return None

        Handle.protocol_version = "HTTP/1.1"
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [f"{m} {t}" for m, t, _, _ in self.requests]


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[ElasticSearch, Recorder]]:
    recorder = Recorder()
    engine = ElasticSearch.from_url(
        f"http://elastic:secret@127.0.0.1:{recorder.port}",
        index="articles",
        index_analyzer="ik_max_word",
        query_analyzer="ik_smart",
        timeout=5.0,
    )
    yield engine, recorder
    await engine.close()
    recorder.stop()


def routes(table: dict[str, tuple[int, Any]]) -> Handler:
    """Answers by "METHOD /path" (query string ignored); anything else is a 200 ``{}``."""

    def handle(method: str, target: str, body: Any) -> tuple[int, Any]:
        key = f"{method} {target.split('?')[0]}"
        if key == "POST /_analyze":
            key = f"{key} {body['analyzer']}"
        return table.get(key, (200, {}))

    return handle


NOT_FOUND = (404, {"error": {"type": "index_not_found_exception"}, "status": 404})


class TestRequestBodies:
    def test_index_uses_the_configured_analyzers(self) -> None:
        body = es.index_body("ik_max_word", "ik_smart", alias="articles", shards=2, replicas=0)
        fields = body["mappings"]["properties"]
        for name in ("title", "content", "author_name", "channel_name"):
            assert fields[name] == {
                "type": "text",
                "analyzer": "ik_max_word",
                "search_analyzer": "ik_smart",
            }
        assert fields["suggest"]["type"] == "completion"
        assert fields["suggest"]["analyzer"] == "toutiao_suggest"
        assert fields["pubdate"] == {"type": "date", "format": "epoch_second"}
        assert body["mappings"]["dynamic"] == "strict"
        assert body["settings"]["number_of_shards"] == 2
        assert body["settings"]["number_of_replicas"] == 0
        assert body["aliases"] == {"articles": {}}

    def test_search_is_bm25_across_fields_then_newest(self) -> None:
        body = es.search_body("大模型 推理", offset=20, limit=10)
        bool_query = body["query"]["bool"]
        # Matches: most of the words across the fields, or the query inside the title.
        assert bool_query["must"] == [
            {
                "bool": {
                    "should": [
                        {
                            "multi_match": {
                                "query": "大模型 推理",
                                "type": "cross_fields",
                                "fields": ["title^2", "content", "author_name", "channel_name"],
                                "operator": "or",
                                "minimum_should_match": "2<75%",
                            }
                        },
                        {
                            "constant_score": {
                                "filter": {"match_phrase": {"title_chars": "大 模 型 推 理"}},
                                "boost": 1000.0,
                            }
                        },
                    ],
                    "minimum_should_match": 1,
                }
            }
        ]
        # Ranks: the tiers added to BM25, the same as the embedded engine's.
        assert bool_query["should"] == [
            {
                "constant_score": {
                    "filter": {"prefix": {"title_key": {"value": "大模型推理"}}},
                    "boost": 200.0,
                }
            },
            {
                "constant_score": {
                    "filter": {"match": {"title": {"query": "大模型 推理", "operator": "and"}}},
                    "boost": 400.0,
                }
            },
            {
                "constant_score": {
                    "filter": {"match_phrase": {"content": "大模型 推理"}},
                    "boost": 100.0,
                }
            },
            {"match_phrase": {"title": {"query": "大模型 推理", "boost": 2.0}}},
        ]
        assert body["sort"] == [{"_score": "desc"}, {"pubdate": "desc"}, {"article_id": "desc"}]
        assert (body["from"], body["size"], body["_source"]) == (20, 10, False)
        # A capped count: exact up to 1,000 matches, "at least" past them.
        assert body["track_total_hits"] == 1000

    def test_blacklisted_authors_are_excluded(self) -> None:
        body = es.search_body("q", offset=0, limit=10, exclude_authors={9, 3})
        assert body["query"]["bool"]["must_not"] == [{"terms": {"author_id": [3, 9]}}]
        assert "must_not" not in es.search_body("q", offset=0, limit=10)["query"]["bool"]
        assert es.count_body("q", {3})["query"] == body["query"] | {
            "bool": body["query"]["bool"] | {"must_not": [{"terms": {"author_id": [3]}}]}
        }

    def test_a_query_without_letters_matches_words_only(self) -> None:
        body = es.search_body("！？", offset=0, limit=10)
        assert len(body["query"]["bool"]["must"][0]["bool"]["should"]) == 1

    def test_suggest_completes_titles(self) -> None:
        body = es.suggest_body("Pyth", limit=10)
        assert body["size"] == 0
        assert body["suggest"]["titles"] == {
            "prefix": "Pyth",
            "completion": {"field": "suggest", "size": 20, "skip_duplicates": True},
        }

    def test_correct_is_a_collated_phrase_suggester(self) -> None:
        phrase = es.correct_body("pyhton")["suggest"]["fix"]["phrase"]
        assert es.correct_body("pyhton")["suggest"]["text"] == "pyhton"
        assert phrase["field"] == "title"
        assert phrase["size"] == 1
        assert phrase["direct_generator"][0]["suggest_mode"] == "always"
        assert phrase["collate"]["query"]["source"]["match"]["title"]["query"] == "{{suggestion}}"

    def test_bulk_lines(self) -> None:
        first = doc(7, "Redis 实战：缓存穿透")
        lines = es.bulk_lines("articles", [first], [8], indexed_at=123)
        assert lines[0] == {"index": {"_index": "articles", "_id": "7"}}
        assert lines[1]["title"] == "Redis 实战：缓存穿透"
        assert lines[1]["indexed_at"] == 123
        assert lines[1]["pubdate"] == int(first.pubdate.timestamp())
        assert lines[1]["suggest"] == {
            "input": ["Redis 实战：缓存穿透", "实战：缓存穿透", "缓存穿透"]
        }
        assert lines[2] == {"delete": {"_index": "articles", "_id": "8"}}

    def test_purge_body(self) -> None:
        assert es.purge_body(99) == {"query": {"range": {"indexed_at": {"lt": 99}}}}


class TestRequestsSent:
    async def test_first_write_creates_the_index_with_ik(
        self, recorded: tuple[ElasticSearch, Recorder]
    ) -> None:
        engine, recorder = recorded
        recorder.handler = routes({"HEAD /articles-v2": NOT_FOUND})
        await engine.index([doc(1, "标题一"), doc(2, "标题二")])
        assert recorder.paths() == [
            "HEAD /articles-v2",
            "POST /_analyze",
            "POST /_analyze",
            "PUT /articles-v2",
            "POST /_aliases",
            "POST /_bulk?require_alias=true&refresh=wait_for",
        ]
        analyzers = [r[2]["analyzer"] for r in recorder.requests[1:3]]
        assert analyzers == ["ik_max_word", "ik_smart"]
        created = recorder.requests[3][2]
        assert created == es.index_body("ik_max_word", "ik_smart", alias="articles")
        # The alias leaves the index of the previous version (the new one starts empty).
        assert recorder.requests[4][2] == {
            "actions": [
                {"remove": {"indices": ["articles-v1"], "alias": "articles", "must_exist": False}},
                {"add": {"index": "articles-v2", "alias": "articles"}},
            ]
        }
        bulk = recorder.requests[5]
        assert bulk[2][1]["title_chars"] == "标 题 一"
        assert bulk[2][1]["title_key"] == "标题一"
        assert [line.get("index", {}).get("_id") for line in bulk[2][::2]] == ["1", "2"]
        assert bulk[3]["content-type"] == es.COMPAT_NDJSON
        for _, _, _, headers in recorder.requests:
            assert headers["accept"] == es.COMPAT_JSON
            assert headers["authorization"].startswith("Basic ")
        await engine.delete([3])  # the index is known now: no second HEAD
        assert recorder.paths()[-1] == "POST /_bulk?require_alias=true&refresh=wait_for"
        assert recorder.requests[-1][2] == [{"delete": {"_index": "articles", "_id": "3"}}]
        # each write makes answers kept from before it stale (search/service.py)
        assert engine.generation == 2

    async def test_without_ik_both_analyzers_fall_back(
        self, recorded: tuple[ElasticSearch, Recorder]
    ) -> None:
        engine, recorder = recorded
        missing = (400, {"error": {"type": "illegal_argument_exception"}, "status": 400})
        recorder.handler = routes(
            {"HEAD /articles-v2": NOT_FOUND, "POST /_analyze ik_max_word": missing}
        )
        await engine.index([doc(1, "标题")])
        created = next(r[2] for r in recorder.requests if r[0] == "PUT")
        assert created["mappings"]["properties"]["title"]["analyzer"] == "cjk"
        assert created["mappings"]["properties"]["title"]["search_analyzer"] == "cjk"

    async def test_an_index_created_meanwhile_is_fine(
        self, recorded: tuple[ElasticSearch, Recorder]
    ) -> None:
        engine, recorder = recorded
        exists = (400, {"error": {"type": "resource_already_exists_exception"}, "status": 400})
        recorder.handler = routes({"HEAD /articles-v2": NOT_FOUND, "PUT /articles-v2": exists})
        await engine.index([doc(1, "标题")])
        assert recorder.paths()[-1].startswith("POST /_bulk")

    async def test_search_request_and_answer(
        self, recorded: tuple[ElasticSearch, Recorder]
    ) -> None:
        engine, recorder = recorded
        answer = {"hits": {"total": {"value": 42}, "hits": [{"_id": "9"}, {"_id": "4"}]}}
        recorder.handler = routes({"POST /articles/_search": (200, answer)})
        page = await engine.search("大模型 推理", offset=10, limit=5)
        assert page == SearchPage(42, [9, 4])
        assert not page.relaxed
        assert recorder.requests[0][2] == es.search_body("大模型 推理", offset=10, limit=5)

    async def test_nothing_with_most_words_retries_with_any(
        self, recorded: tuple[ElasticSearch, Recorder]
    ) -> None:
        engine, recorder = recorded
        empty = {"hits": {"total": {"value": 0}, "hits": []}}
        some = {"hits": {"total": {"value": 1}, "hits": [{"_id": "5"}]}}
        answers = iter([empty, some, empty, empty])
        recorder.handler = lambda method, target, body: (200, next(answers))
        assert await engine.search("a b c", offset=0, limit=10) == SearchPage(1, [5], True)
        assert await engine.search("a b c", offset=0, limit=10) == SearchPage(0, [], False)
        sent = [
            r[2]["query"]["bool"]["must"][0]["bool"]["should"][0]["multi_match"][
                "minimum_should_match"
            ]
            for r in recorder.requests
        ]
        assert sent == ["2<75%", "1", "2<75%", "1"]

    async def test_deep_pages_only_count(self, recorded: tuple[ElasticSearch, Recorder]) -> None:
        engine, recorder = recorded
        recorder.handler = routes(
            {"POST /articles/_search": (200, {"hits": {"total": {"value": 20000}, "hits": []}})}
        )
        assert await engine.search("q", offset=10_000, limit=10) == SearchPage(20000, [])
        assert recorder.requests[0][2]["size"] == 0

    async def test_no_index_yet_means_no_results(
        self, recorded: tuple[ElasticSearch, Recorder]
    ) -> None:
        engine, recorder = recorded
        recorder.handler = routes(
            {"POST /articles/_search": NOT_FOUND, "GET /articles/_count": NOT_FOUND}
        )
        assert await engine.search("q", offset=0, limit=10) == SearchPage(0, [])
        assert await engine.suggest("q", limit=10) == []
        assert await engine.correct("q") is None
        assert await engine.count() == 0

    async def test_suggest_and_correct_answers(
        self, recorded: tuple[ElasticSearch, Recorder]
    ) -> None:
        engine, recorder = recorded
        completion = {
            "suggest": {
                "titles": [
                    {
                        "options": [
                            {"text": "Python 异步", "_source": {"title": "Python 异步编程入门"}},
                            {"text": "异步编程入门", "_source": {"title": "Python 异步编程入门"}},
                            {"text": "Python 类型", "_source": {"title": "Python 类型注解"}},
                        ]
                    }
                ]
            }
        }
        recorder.handler = routes({"POST /articles/_search": (200, completion)})
        assert await engine.suggest("python", limit=10) == [
            "Python 异步编程入门",
            "Python 类型注解",
        ]
        assert recorder.requests[-1][2] == es.suggest_body("python", limit=10)
        fix = {"suggest": {"fix": [{"options": [{"text": "python 异步 编程", "score": 0.1}]}]}}
        recorder.handler = routes({"POST /articles/_search": (200, fix)})
        assert await engine.correct("pyhton 异部编程") == "python 异步编程"
        assert recorder.requests[-1][2] == es.correct_body("pyhton 异部编程")

    async def test_purge_and_count(self, recorded: tuple[ElasticSearch, Recorder]) -> None:
        engine, recorder = recorded
        recorder.handler = routes({"GET /articles/_count": (200, {"count": 5})})
        await engine.purge(1234)
        method, target, body, _ = recorder.requests[-1]
        assert (method, target.split("?")[0]) == ("POST", "/articles/_delete_by_query")
        assert "refresh=true" in target and "conflicts=proceed" in target
        assert body == es.purge_body(1234)
        assert await engine.count() == 5
        assert engine.generation == 1


class TestFailures:
    async def test_bulk_item_failures(self, recorded: tuple[ElasticSearch, Recorder]) -> None:
        engine, recorder = recorded

        def items(*statuses: tuple[str, int]) -> tuple[int, Any]:
            return 200, {
                "errors": True,
                "items": [{op: {"_id": "1", "status": s}} for op, s in statuses],
            }

        recorder.handler = routes({"POST /_bulk": items(("delete", 404), ("index", 400))})
        await engine.index([doc(1, "标题")])  # a refused document is logged, not retried
        recorder.handler = routes({"POST /_bulk": items(("index", 429))})
        written = engine.generation
        with pytest.raises(SearchUnavailable):
            await engine.index([doc(1, "标题")])
        assert engine.generation == written + 1  # a failed write may have done part of it
        gone = {
            "index": {"_id": "1", "status": 404, "error": {"type": "index_not_found_exception"}}
        }
        recorder.handler = routes({"POST /_bulk": (200, {"errors": True, "items": [gone]})})
        with pytest.raises(SearchUnavailable):
            await engine.index([doc(1, "标题")])
        recorder.handler = routes({"HEAD /articles-v2": NOT_FOUND})
        await engine.index([doc(1, "标题")])  # the index is created again first
        assert "PUT /articles-v2" in recorder.paths()

    async def test_server_errors_are_unavailable(
        self, recorded: tuple[ElasticSearch, Recorder]
    ) -> None:
        engine, recorder = recorded
        recorder.handler = lambda method, target, body: (500, {"error": "boom"})
        with pytest.raises(SearchUnavailable):
            await engine.search("q", offset=0, limit=10)
        assert await engine.ping() is False

    async def test_closed_port_is_unavailable_fast(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        engine = ElasticSearch.from_url(
            f"http://127.0.0.1:{port}",
            index="articles",
            index_analyzer="ik_max_word",
            query_analyzer="ik_smart",
            timeout=1.0,
        )
        started = time.monotonic()
        try:
            with pytest.raises(SearchUnavailable):
                await engine.search("q", offset=0, limit=10)
            with pytest.raises(SearchUnavailable):
                await engine.index([doc(1, "标题")])
            assert await engine.ping() is False
        finally:
            await engine.close()
        assert time.monotonic() - started < 5


class TestFactory:
    def test_engines_by_url(self, tmp_path: Path) -> None:
        tantivy = create_search_engine(Settings(DATA_DIR=tmp_path))
        assert isinstance(tantivy, TantivySearch)
        assert tantivy.path.parent == tmp_path.resolve() / "search"
        elastic = create_search_engine(
            Settings(DATA_DIR=tmp_path, SEARCH_URL="https://u:p%40ss@a:9200,b:9200?replicas=0")
        )
        assert isinstance(elastic, ElasticSearch)
        assert elastic.replicas == 0 and elastic.alias == "articles"
        nodes = sorted(n.config.host for n in elastic.client.transport.node_pool.all())
        assert nodes == ["a", "b"]
        with pytest.raises(ValueError, match="unsupported"):
            create_search_engine(Settings(DATA_DIR=tmp_path, SEARCH_URL="solr://x"))


ES_URL = os.environ.get("TOUTIAO_TEST_ES_URL")


@pytest.mark.skipif(not ES_URL, reason="TOUTIAO_TEST_ES_URL names no Elasticsearch server")
@pytest.mark.filterwarnings("ignore::elasticsearch.ElasticsearchWarning")
class TestLiveServer:
    async def test_round_trip(self) -> None:
        name = f"toutiao-test-{secrets.token_hex(4)}"
        engine = ElasticSearch.from_url(
            f"{ES_URL}?replicas=0",
            index=name,
            index_analyzer="ik_max_word",
            query_analyzer="ik_smart",
            timeout=10.0,
        )
        try:
            docs = corpus(200)
            crafted = doc(1, "边缘计算网关的冷启动优化实录", "冷启动时间从三秒降到三百毫秒")
            await engine.index([*docs, crafted])
            assert await engine.count() == 201
            page = await engine.search("边缘计算网关冷启动优化", offset=0, limit=10)
            assert page.ids[0] == 1
            assert "边缘计算网关的冷启动优化实录" in await engine.suggest("边缘计算", limit=10)
            await engine.delete([1])
            assert 1 not in (await engine.search("冷启动", offset=0, limit=10)).ids
            await engine.purge(int(time.time() * 1000) + 1000)
            assert await engine.count() == 0
        finally:
            await engine._request("DELETE", f"/{engine.concrete}")
            await engine.close()
