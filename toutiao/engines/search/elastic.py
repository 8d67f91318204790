"""Elasticsearch 8 or 9 through the official async client (the production engine).

- One index ``<SEARCH_INDEX>-v1`` behind the alias ``SEARCH_INDEX``, created on first write.
  Text fields use the configured analyzers (IK's ``ik_max_word`` to index, ``ik_smart`` to
  query); when either is missing on the cluster (``_analyze`` refuses it), both fall back to
  the built-in ``cjk`` analyzer, so the index still works without the plugin.
- Every request carries ``compatible-with=8`` media types: ES 8 accepts nothing newer and
  ES 9 still honours 8. The 9.x client's typed methods (and its bulk helpers) force
  ``compatible-with=9``, so requests go through ``perform_request`` with our headers.
- Every request body is built by a pure function below (tests assert them).
- Timeouts are bounded (``SEARCH_TIMEOUT``, one retry); any transport or server failure
  becomes :class:`SearchUnavailable` (503).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError, NotFoundError

from toutiao.engines.search import (
    BODY_PHRASE_BONUS,
    EXACT_COUNT,
    MAX_WINDOW,
    PHRASE_BOOST,
    TITLE_START_BONUS,
    TITLE_SUBSTRING_BONUS,
    TITLE_WORDS_BONUS,
    SearchDoc,
    SearchPage,
    SearchUnavailable,
    title_chars,
    title_key,
)

log = logging.getLogger("toutiao.search.elastic")

COMPAT_JSON = "application/vnd.elasticsearch+json; compatible-with=8"
COMPAT_NDJSON = "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
FALLBACK_ANALYZER = "cjk"
SCHEMA_VERSION = 2
BULK_ACTIONS = 500
PURGE_TIMEOUT = 600.0
TITLE_FIELDS = ["title^2", "content", "author_name", "channel_name"]
# "2<75%": up to two words all must match; more, three in four (as the Tantivy engine does).
MINIMUM_SHOULD_MATCH = "2<75%"
_SUFFIX_START = re.compile(r"[\s:：,，|｜、!！?？()（）\[\]【】]+")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")


# -- request bodies ----------------------------------------------------------------------------


def index_body(
    index_analyzer: str, query_analyzer: str, *, alias: str, shards: int = 1, replicas: int = 1
) -> dict[str, Any]:
    """Settings and mappings of the articles index (one shard: BM25 statistics stay exact)."""

    def text() -> dict[str, Any]:
        return {"type": "text", "analyzer": index_analyzer, "search_analyzer": query_analyzer}

    return {
        "settings": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "analysis": {
                "analyzer": {
                    "toutiao_suggest": {
                        "type": "custom",
                        "tokenizer": "keyword",
                        "filter": ["cjk_width", "lowercase"],
                    }
                }
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "article_id": {"type": "long"},
                "author_id": {"type": "long"},
                "channel_id": {"type": "long"},
                "title": text(),
                # The title's characters, space-separated, and its folded form: the query
                # inside the title (a phrase) and at its start (a prefix), as in Tantivy.
                "title_chars": {"type": "text", "analyzer": "whitespace"},
                "title_key": {"type": "keyword"},
                "content": text(),
                "author_name": text(),
                "channel_name": text(),
                "pubdate": {"type": "date", "format": "epoch_second"},
                "comm_count": {"type": "integer"},
                "like_count": {"type": "integer"},
                "collect_count": {"type": "integer"},
                "indexed_at": {"type": "long"},
                "suggest": {
                    "type": "completion",
                    "analyzer": "toutiao_suggest",
                    "max_input_length": 100,
                },
            },
        },
        "aliases": {alias: {}},
    }


def suggest_inputs(title: str) -> list[str]:
    """The title, and what follows each separator in it: "Redis 实战：缓存穿透" completes
    from "缓存" too."""
    inputs = [title.strip()]
    for match in _SUFFIX_START.finditer(title):
        rest = title[match.end() :].strip()
        if len(rest) >= 2 and len(inputs) < 5:
            inputs.append(rest)
    return list(dict.fromkeys(i for i in inputs if i))


def document_body(doc: SearchDoc, indexed_at: int) -> dict[str, Any]:
    return {
        "article_id": doc.article_id,
        "author_id": doc.author_id,
        "channel_id": doc.channel_id,
        "title": doc.title,
        "title_chars": " ".join(title_chars(doc.title)),
        "title_key": title_key(doc.title),
        "content": doc.content,
        "author_name": doc.author_name,
        "channel_name": doc.channel_name,
        "pubdate": int(doc.pubdate.timestamp()),
        "comm_count": doc.comm_count,
        "like_count": doc.like_count,
        "collect_count": doc.collect_count,
        "indexed_at": indexed_at,
        "suggest": {"input": suggest_inputs(doc.title)},
    }


def bulk_lines(
    alias: str, docs: Sequence[SearchDoc], deletes: Sequence[int], indexed_at: int
) -> list[dict[str, Any]]:
    """The NDJSON lines of one ``_bulk`` request: index (replace) and delete actions."""
    lines: list[dict[str, Any]] = []
    for doc in docs:
        lines.append({"index": {"_index": alias, "_id": str(doc.article_id)}})
        lines.append(document_body(doc, indexed_at))
    for article_id in deletes:
        lines.append({"delete": {"_index": alias, "_id": str(article_id)}})
    return lines


def search_body(
    query: str,
    *,
    offset: int,
    limit: int,
    minimum_should_match: str = MINIMUM_SHOULD_MATCH,
    exclude_authors: Collection[int] = (),
) -> dict[str, Any]:
    """What matches: most of the words (BM25 across the fields as one, ``cross_fields``) or
    the query inside the title. How it ranks: the ranking tiers of the engine interface added
    to BM25 (the query inside the title, at its start, every word in the title, the words as a
    phrase in the body), then the newest first among equal scores. Totals are exact up to
    ``EXACT_COUNT``, a lower bound past it. Nothing by ``exclude_authors``."""
    words = {
        "multi_match": {
            "query": query,
            "type": "cross_fields",
            "fields": TITLE_FIELDS,
            "operator": "or",
            "minimum_should_match": minimum_should_match,
        }
    }
    chars = " ".join(title_chars(query))
    matched: list[dict[str, Any]] = [words]
    tiers: list[dict[str, Any]] = [
        _constant({"match": {"title": {"query": query, "operator": "and"}}}, TITLE_WORDS_BONUS),
        _constant({"match_phrase": {"content": query}}, BODY_PHRASE_BONUS),
        {"match_phrase": {"title": {"query": query, "boost": PHRASE_BOOST}}},
    ]
    if chars:
        in_title = {"match_phrase": {"title_chars": chars}}
        matched.append(_constant(in_title, TITLE_SUBSTRING_BONUS))
        start = {"prefix": {"title_key": {"value": title_key(query)}}}
        tiers.insert(0, _constant(start, TITLE_START_BONUS))
    query_body: dict[str, Any] = {
        "must": [{"bool": {"should": matched, "minimum_should_match": 1}}],
        "should": tiers,
    }
    if exclude_authors:
        query_body["must_not"] = [{"terms": {"author_id": sorted(exclude_authors)}}]
    return {
        "query": {"bool": query_body},
        "sort": [{"_score": "desc"}, {"pubdate": "desc"}, {"article_id": "desc"}],
        "from": offset,
        "size": limit,
        "_source": False,
        "track_total_hits": EXACT_COUNT,
    }


def _constant(query: dict[str, Any], score: float) -> dict[str, Any]:
    return {"constant_score": {"filter": query, "boost": score}}


def count_body(query: str, exclude_authors: Collection[int] = ()) -> dict[str, Any]:
    body = search_body(query, offset=0, limit=0, exclude_authors=exclude_authors)
    return {"query": body["query"], "size": 0, "track_total_hits": EXACT_COUNT}


def suggest_body(prefix: str, *, limit: int) -> dict[str, Any]:
    """Completion over titles (and the words after their separators)."""
    return {
        "size": 0,
        "_source": ["title"],
        "suggest": {
            "titles": {
                "prefix": prefix,
                "completion": {"field": "suggest", "size": limit * 2, "skip_duplicates": True},
            }
        },
    }


def correct_body(text: str) -> dict[str, Any]:
    """The phrase suggester on titles: corrections that still match an article (collate)."""
    return {
        "size": 0,
        "suggest": {
            "text": text,
            "fix": {
                "phrase": {
                    "field": "title",
                    "size": 1,
                    "max_errors": 2,
                    "direct_generator": [
                        {
                            "field": "title",
                            "suggest_mode": "always",
                            "min_word_length": 2,
                            "prefix_length": 0,
                        }
                    ],
                    "collate": {
                        "query": {
                            "source": {
                                "match": {"title": {"query": "{{suggestion}}", "operator": "and"}}
                            }
                        },
                        "prune": False,
                    },
                }
            },
        },
    }


def purge_body(indexed_before_ms: int) -> dict[str, Any]:
    return {"query": {"range": {"indexed_at": {"lt": indexed_before_ms}}}}


def analyze_body(analyzer: str) -> dict[str, Any]:
    return {"analyzer": analyzer, "text": "中文分词测试"}


# -- the engine -------------------------------------------------------------------------------


class ElasticSearch:
    name = "elasticsearch"

    def __init__(
        self,
        client: AsyncElasticsearch,
        *,
        index: str,
        index_analyzer: str,
        query_analyzer: str,
        shards: int = 1,
        replicas: int = 1,
    ) -> None:
        self.client = client
        self.generation = 0
        self.alias = index
        self.concrete = f"{index}-v{SCHEMA_VERSION}"
        self.analyzers = (index_analyzer, query_analyzer)
        self.shards, self.replicas = shards, replicas
        self._ready = False

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        index: str,
        index_analyzer: str,
        query_analyzer: str,
        timeout: float,
        node_class: Any = None,
    ) -> ElasticSearch:
        """``http(s)://[user:pass@]host:port[,host2:port][?shards=1&replicas=1]``."""
        parts = urlsplit(url)
        auth = None
        netloc = parts.netloc
        if "@" in netloc:
            credentials, netloc = netloc.rsplit("@", 1)
            user, _, password = credentials.partition(":")
            auth = (unquote(user), unquote(password))
        hosts = [f"{parts.scheme}://{host}{parts.path.rstrip('/')}" for host in netloc.split(",")]
        options = {k: int(v[-1]) for k, v in parse_qs(parts.query).items() if v[-1].isdigit()}
        extra = {"node_class": node_class} if node_class is not None else {}
        client = AsyncElasticsearch(
            hosts,
            basic_auth=auth,
            request_timeout=timeout,
            max_retries=1,
            retry_on_timeout=False,
            **extra,
        )
        return cls(
            client,
            index=index,
            index_analyzer=index_analyzer,
            query_analyzer=query_analyzer,
            shards=options.get("shards", 1),
            replicas=options.get("replicas", 1),
        )

    async def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        ndjson: bool = False,
        request_timeout: float | None = None,
        passthrough: tuple[type[ApiError], ...] = (NotFoundError,),
    ) -> Any:
        """``passthrough``: API errors the caller handles; any other failure is a 503."""
        headers = {"accept": COMPAT_JSON}
        if body is not None:
            headers["content-type"] = COMPAT_NDJSON if ndjson else COMPAT_JSON
        client = self.client
        if request_timeout is not None:
            client = client.options(request_timeout=request_timeout)
        try:
            response = await client.perform_request(
                method, path, params=params, headers=headers, body=body
            )
        except passthrough:
            raise
        except (ApiError, TransportError) as exc:
            log.warning("search.elastic_failed %s %s: %s", method, path, exc)
            raise SearchUnavailable() from exc
        return response.body

    # -- index management
    async def _analyzers(self) -> tuple[str, str]:
        for analyzer in dict.fromkeys(self.analyzers):
            try:
                body = analyze_body(analyzer)
                await self._request("POST", "/_analyze", body, passthrough=(BadRequestError,))
            except BadRequestError:
                log.warning("search.analyzer_missing analyzer=%s fallback=cjk", analyzer)
                return FALLBACK_ANALYZER, FALLBACK_ANALYZER
        return self.analyzers

    async def ensure_index(self) -> None:
        """Create this version's index (with the alias) unless it exists; safe to race. The
        alias then leaves the indexes of earlier versions: a new version starts empty and the
        platform reindexes it (as it does an empty Tantivy index)."""
        if self._ready:
            return
        if not await self._request("HEAD", f"/{self.concrete}"):  # a HEAD 404 answers False
            index_analyzer, query_analyzer = await self._analyzers()
            body = index_body(
                index_analyzer,
                query_analyzer,
                alias=self.alias,
                shards=self.shards,
                replicas=self.replicas,
            )
            try:
                await self._request(
                    "PUT", f"/{self.concrete}", body, passthrough=(BadRequestError,)
                )
            except BadRequestError as exc:
                if "resource_already_exists" not in str(exc):
                    log.warning("search.create_index_failed error=%s", exc)
                    raise SearchUnavailable() from exc
            if SCHEMA_VERSION > 1:
                with contextlib.suppress(NotFoundError):  # no earlier version
                    await self._request("POST", "/_aliases", self.alias_moves())
        self._ready = True

    def alias_moves(self) -> dict[str, Any]:
        earlier = [f"{self.alias}-v{v}" for v in range(1, SCHEMA_VERSION)]
        return {
            "actions": [
                {"remove": {"indices": earlier, "alias": self.alias, "must_exist": False}},
                {"add": {"index": self.concrete, "alias": self.alias}},
            ]
        }

    # -- writes
    async def index(self, docs: Sequence[SearchDoc], *, refresh: bool = True) -> None:
        if docs:
            await self._bulk(docs, (), refresh=refresh)

    async def delete(self, ids: Sequence[int]) -> None:
        if ids:
            await self._bulk((), ids, refresh=True)

    async def _bulk(
        self, docs: Sequence[SearchDoc], deletes: Sequence[int], *, refresh: bool
    ) -> None:
        await self.ensure_index()
        try:
            await self._write_bulk(docs, deletes, refresh=refresh)
        finally:  # after the write: a search begun before it is never taken for newer
            self.generation += 1

    async def _write_bulk(
        self, docs: Sequence[SearchDoc], deletes: Sequence[int], *, refresh: bool
    ) -> None:
        now = int(time.time() * 1000)
        for start in range(0, max(len(docs), len(deletes)), BULK_ACTIONS):
            lines = bulk_lines(
                self.alias,
                docs[start : start + BULK_ACTIONS],
                deletes[start : start + BULK_ACTIONS],
                now,
            )
            # require_alias: never let a write auto-create an index without our mappings.
            params = {"require_alias": "true"}
            if refresh:
                params["refresh"] = "wait_for"
            result = await self._request("POST", "/_bulk", lines, params=params, ndjson=True)
            if result.get("errors"):
                self._check_items(result.get("items", []))

    def _check_items(self, items: list[dict[str, Any]]) -> None:
        """A 404 on delete is fine; a refused document (4xx) is logged, never retried; a
        rejected or failed shard (429, 5xx) or a vanished index raises, so the caller retries
        later (and the index is created again first)."""
        for item in items:
            (action, outcome), *_ = item.items()
            status = int(outcome.get("status", 200))
            error = outcome.get("error") or {}
            if isinstance(error, dict) and error.get("type") == "index_not_found_exception":
                self._ready = False
                raise SearchUnavailable()
            if status == 404 and action == "delete":
                continue
            if status == 429 or status >= 500:
                raise SearchUnavailable()
            if status >= 400:
                log.error("search.document_refused id=%s error=%s", outcome.get("_id"), outcome)

    async def purge(self, indexed_before_ms: int) -> None:
        await self.ensure_index()
        try:
            await self._request(
                "POST",
                f"/{self.alias}/_delete_by_query",
                purge_body(indexed_before_ms),
                params={"refresh": "true", "conflicts": "proceed"},
                request_timeout=PURGE_TIMEOUT,
            )
        finally:
            self.generation += 1

    # -- reads
    async def _search(self, body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._request("POST", f"/{self.alias}/_search", body)
        except NotFoundError:
            return None  # nothing indexed yet
        return result

    async def search(
        self, query: str, *, offset: int, limit: int, exclude_authors: Collection[int] = ()
    ) -> SearchPage:
        if offset + limit > MAX_WINDOW:
            result = await self._search(count_body(query, exclude_authors))
            return SearchPage(_total(result), [])
        body = search_body(query, offset=offset, limit=limit, exclude_authors=exclude_authors)
        page = _page(await self._search(body))
        if page.total == 0:
            body = search_body(
                query,
                offset=offset,
                limit=limit,
                minimum_should_match="1",
                exclude_authors=exclude_authors,
            )
            relaxed = _page(await self._search(body))
            page = SearchPage(relaxed.total, relaxed.ids, relaxed=relaxed.total > 0)
        return page

    async def suggest(self, prefix: str, *, limit: int) -> list[str]:
        result = await self._search(suggest_body(prefix, limit=limit))
        titles: dict[str, None] = {}
        for entry in (result or {}).get("suggest", {}).get("titles", []):
            for option in entry.get("options", []):
                title = option.get("_source", {}).get("title") or option.get("text")
                if title:
                    titles[title] = None
        return list(titles)[:limit]

    async def correct(self, text: str) -> str | None:
        result = await self._search(correct_body(text))
        for entry in (result or {}).get("suggest", {}).get("fix", []):
            for option in entry.get("options", []):
                if option.get("collate_match", True) and option.get("text"):
                    return _CJK_SPACE.sub("", option["text"])
        return None

    async def count(self) -> int:
        try:
            result = await self._request("GET", f"/{self.alias}/_count")
        except NotFoundError:
            return 0
        return int(result.get("count", 0))

    async def ping(self) -> bool:
        try:
            await self._request("GET", "/")
        except (SearchUnavailable, NotFoundError):
            return False
        return True

    async def close(self) -> None:
        await self.client.close()


def _total(result: dict[str, Any] | None) -> int:
    total = (result or {}).get("hits", {}).get("total", 0)
    return int(total["value"] if isinstance(total, dict) else total)


def _page(result: dict[str, Any] | None) -> SearchPage:
    hits = (result or {}).get("hits", {}).get("hits", [])
    return SearchPage(_total(result), [int(hit["_id"]) for hit in hits])
