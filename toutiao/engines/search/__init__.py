"""Full-text search over approved articles: one interface, two engines chosen by URL.

- ``tantivy:///abs/path``: an embedded Tantivy index, jieba-segmented (the default, under
  ``DATA_DIR/search``);
- ``http(s)://[user:pass@]host:9200[,host2:9200]``: Elasticsearch 8 or 9 through the official
  async client, analyzers from settings (IK's ``ik_max_word`` / ``ik_smart`` when installed).

Ranking is the same contract on both: tiers (the query inside the title, at its start, every
word in the title, the words as a phrase in the body; constants below) added to BM25 over
title (boosted), body, author and channel, with the newer article first when scores tie. Every method may raise
:class:`SearchUnavailable`; the API answers it with 503 and the rest of the platform carries on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from toutiao.kit.errors import ToutiaoError

if TYPE_CHECKING:
    from toutiao.config import Settings

# Deeper pages answer no ids (Elasticsearch's max_result_window; nobody reads page 1001).
MAX_WINDOW = 10_000
# A title holding the query's words as a phrase earns this boost on top of BM25.
PHRASE_BOOST = 2.0
# Ranking tiers: constants added to BM25 (which stays well under 100 for a query of up to 50
# characters), so a title that holds the query outranks every scattered match.
TITLE_SUBSTRING_BONUS = 1000.0  # the title holds the query's characters in a row
TITLE_START_BONUS = 200.0  # ... and starts with them
TITLE_WORDS_BONUS = 400.0  # the title holds every word of a query of two or more words
BODY_PHRASE_BONUS = 100.0  # the body holds those words as a phrase
# Counts are exact up to here; past it, an estimate (the reader sees "about N").
EXACT_COUNT = 1_000
# A multi-word query first requires this share of its words (all of them up to two words),
# like Elasticsearch's ``minimum_should_match: "2<75%"``; when that finds nothing, any word.
MIN_SHOULD_MATCH = 0.75
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]")


class SearchUnavailable(ToutiaoError):
    status_code = 503
    message = "Search is unavailable, please try again later."


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """What is indexed of one approved article (``content`` is plain text, HTML stripped)."""

    article_id: int
    title: str
    content: str
    author_id: int
    author_name: str
    channel_id: int
    channel_name: str
    pubdate: datetime
    comm_count: int = 0
    like_count: int = 0
    collect_count: int = 0


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    ids: list[int]
    # True when too few documents held most of the words and these hold any of them.
    relaxed: bool = False


class SearchEngine(Protocol):
    name: str
    # bumped by every write this object makes (index, delete, purge): a cached answer read
    # under another generation is stale
    generation: int

    async def index(self, docs: Sequence[SearchDoc], *, refresh: bool = True) -> None:
        """Add or replace these documents (by article id). With ``refresh`` they are visible
        once this returns; bulk loads pass False and end with :meth:`purge`, which refreshes."""

    async def delete(self, ids: Sequence[int]) -> None:
        """Remove these articles; unknown ids are ignored."""

    async def search(
        self, query: str, *, offset: int, limit: int, exclude_authors: Collection[int] = ()
    ) -> SearchPage:
        """Article ids by relevance (the tiers above, then BM25), newest first among equal
        scores; none by ``exclude_authors`` (a reader's blacklist, both directions)."""

    async def suggest(self, prefix: str, *, limit: int) -> list[str]:
        """Titles that start with ``prefix``, then titles with a word that does."""

    async def correct(self, text: str) -> str | None:
        """A spelling correction of ``text`` that finds articles, or None."""

    async def purge(self, indexed_before_ms: int) -> None:
        """Drop documents last written before this time (what a full reindex did not see)."""

    async def count(self) -> int:
        """Documents in the index."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


def required_words(count: int) -> int:
    """How many of a query's ``count`` words a document must hold (first pass)."""
    return count if count <= 2 else max(2, int(count * MIN_SHOULD_MATCH))


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, single spaces: how queries and keys compare."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def title_key(title: str) -> str:
    """How titles are compared for prefix completion: folded, without spaces."""
    return "".join(normalize(title).split())


def title_chars(text: str) -> list[str]:
    """The word-like characters of a title or query, folded, in order (punctuation and spaces
    dropped): a query's characters in a row in a title's are the query inside the title,
    whatever a segmenter made of either (在谷 inside 在谷歌, cut 在 / 谷歌)."""
    return [c for c in title_key(text) if _WORDLIKE.match(c)]


def create_search_engine(settings: Settings) -> SearchEngine:
    """The engine ``settings.search_url`` names. Nothing connects or opens files until first use."""
    url = settings.search_url
    parts = urlsplit(url)
    if parts.scheme == "tantivy":
        from toutiao.engines.search.tantivy_engine import TantivySearch

        return TantivySearch(Path(unquote(parts.path)))
    if parts.scheme in {"http", "https"}:
        from toutiao.engines.search.elastic import ElasticSearch

        return ElasticSearch.from_url(
            url,
            index=settings.SEARCH_INDEX,
            index_analyzer=settings.SEARCH_INDEX_ANALYZER,
            query_analyzer=settings.SEARCH_QUERY_ANALYZER,
            timeout=settings.SEARCH_TIMEOUT,
        )
    raise ValueError(f"unsupported TOUTIAO_SEARCH_URL scheme: {parts.scheme!r}")


__all__ = [
    "BODY_PHRASE_BONUS",
    "EXACT_COUNT",
    "MAX_WINDOW",
    "PHRASE_BOOST",
    "TITLE_START_BONUS",
    "TITLE_SUBSTRING_BONUS",
    "TITLE_WORDS_BONUS",
    "SearchDoc",
    "SearchEngine",
    "SearchPage",
    "SearchUnavailable",
    "create_search_engine",
    "normalize",
    "required_words",
    "title_chars",
    "title_key",
]
