"""Search, suggestions and search history (app.md E04-E07).

| key | role | type | content |
|---|---|---|---|
| ``user:{uid}:his:searching`` | storage | zset | keyword -> search time, the 10 most recent |
| ``search:popular`` | storage | zset | normalized query -> distinct users who searched it with results |
| ``search:popular:lex`` | storage | zset | the queries above the threshold, score 0 (prefix lookups) |
| ``search:popular:seen:{uid}:{digest}`` | storage | string | "this user was counted", 30-day TTL |

Popular queries cannot be poisoned (facts §14.39): only logged-in searches that found
something count, each user at most once per query a month, a query is suggested only once
``POPULAR_MIN_USERS`` different users searched it, and the list is trimmed to the top
``POPULAR_KEEP``. Titles come from the index, which only holds approved articles (§14.40).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

import orjson
from cachetools import TTLCache
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article.cache import get_cards, get_entries
from toutiao.article.cards import ExtraOps, render_cards
from toutiao.article.lists import LIST_COUNTS
from toutiao.engines.search import SearchEngine, SearchPage, SearchUnavailable, normalize
from toutiao.kit import metrics
from toutiao.kit.errors import BadRequest
from toutiao.relation import service as relation_service
from toutiao.runtime import Runtime

log = logging.getLogger("toutiao.search")

QUERY_MAX = 50
HISTORY_MAX = 10  # app.md §5.37 (the original kept 4)
SUGGEST_MAX = 10
POPULAR_FIRST = 4  # popular queries lead the suggestions, titles fill the rest
POPULAR_MIN_USERS = 3
POPULAR_KEEP = 10_000
POPULAR_QUERY_MAX = 30  # longer queries are sentences, not suggestions
POPULAR_SEEN_SECONDS = 30 * 86400
POPULAR_KEY = "search:popular"
POPULAR_LEX_KEY = "search:popular:lex"
BLOCKED_ROUNDS = 3  # engine queries of a page for a reader with a LARGE blacklist
ANSWERS_KEPT = 4096  # pages of results (and of suggestions) a process keeps
K = TypeVar("K")
V = TypeVar("V")

# Readers repeat queries (the popular ones above all): what the engine answered lately is
# kept per engine object for SEARCH_CACHE_SECONDS, under the query, the page, the hidden
# authors and the engine's generation when it was asked (a write of this process makes
# every older answer stale).
AnswerKey = tuple[str, int, int, frozenset[int], int]
Answers = TTLCache[AnswerKey, SearchPage]
_answers: WeakKeyDictionary[SearchEngine, Answers] = WeakKeyDictionary()
# The engine's completions of a prefix, and its spelling corrections (None: none), under
# (the prefix or text, the engine's generation)
Titles = TTLCache[tuple[str, int], list[str]]
Fixes = TTLCache[tuple[str, int], str | None]
_titles: WeakKeyDictionary[SearchEngine, Titles] = WeakKeyDictionary()
_fixes: WeakKeyDictionary[SearchEngine, Fixes] = WeakKeyDictionary()


def history_key(user_id: int) -> str:
    return f"user:{user_id}:his:searching"


def popular_seen_key(user_id: int, query: str) -> str:
    digest = hashlib.blake2b(query.encode(), digest_size=8).hexdigest()
    return f"search:popular:seen:{user_id}:{digest}"


def clean_query(q: str) -> str:
    """Surrounding and repeated spaces dropped; 1-50 characters as sent and as cleaned, else a
    400."""
    cleaned = " ".join(q.split())
    if len(q) > QUERY_MAX or not 1 <= len(cleaned) <= QUERY_MAX:
        raise BadRequest(f"q: must be 1-{QUERY_MAX} characters")
    return cleaned


def engine_of(runtime: Runtime) -> SearchEngine:
    if runtime.search is None:
        raise SearchUnavailable()
    return runtime.search  # type: ignore[no-any-return]


# -- E05 search ---------------------------------------------------------------------------------


async def search_articles(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int | None,
    q: str,
    *,
    page: int,
    per_page: int,
) -> dict[str, Any]:
    """Approved articles matching ``q`` by relevance, newest first among equals, none by an
    author in a blacklist relation with the reader; a logged-in first page goes into the
    user's history."""
    q = clean_query(q)
    engine, offset = engine_of(runtime), (page - 1) * per_page
    answers = answers_of(runtime, engine)
    if user_id is None:
        found = await find(engine, q, offset=offset, limit=per_page, answers=answers)
    else:  # authors in a blacklist relation with the reader, either way
        hidden = await relation_service.blacklisted_ids(runtime, session, user_id)
        found = await find_unblocked(
            runtime,
            session,
            engine,
            q,
            offset=offset,
            limit=per_page,
            hidden=hidden,
            answers=answers,
        )
    remembered = None
    if user_id is not None and page == 1:
        # Only a query the index fully answers may become a popular suggestion.
        remembered = Remembered(user_id, q, found=found.total > 0 and not found.relaxed)
    results, extras = await present(
        runtime, session, found.ids, extra=remembered.queue if remembered else None
    )
    if remembered is not None:
        await remembered.vote(runtime.store, extras)
    return {"page": page, "per_page": per_page, "results": results, "total_count": found.total}


def _kept_for(
    caches: WeakKeyDictionary[SearchEngine, TTLCache[K, V]], runtime: Runtime, engine: SearchEngine
) -> TTLCache[K, V] | None:
    """``engine``'s cache among ``caches``, for SEARCH_CACHE_SECONDS (None when that is 0)."""
    seconds = runtime.settings.SEARCH_CACHE_SECONDS
    if seconds <= 0:
        return None
    kept = caches.get(engine)
    if kept is None or kept.ttl != seconds:
        kept = caches[engine] = TTLCache(ANSWERS_KEPT, seconds)
    return kept


def answers_of(runtime: Runtime, engine: SearchEngine) -> Answers | None:
    """The pages ``engine`` answered lately (None when SEARCH_CACHE_SECONDS is 0)."""
    return _kept_for(_answers, runtime, engine)


_NOT_KEPT = object()


async def _kept_answer(
    kept: TTLCache[K, V] | None, key: K, cache: str, answer: Callable[[], Awaitable[V]]
) -> V:
    """What ``kept`` holds under ``key`` (counted as the ``cache`` metric's hits and misses),
    else ``answer()``, kept there. ``key`` is made before the answer is asked for: one made
    under an older generation is never read again."""
    if kept is None:
        return await answer()
    found = kept.get(key, _NOT_KEPT)
    hit = found is not _NOT_KEPT
    metrics.cache_lookup(cache, "l1", hits=hit, misses=not hit)
    if hit:
        return cast(V, found)
    value = kept[key] = await answer()
    return value


async def find(
    engine: SearchEngine,
    q: str,
    *,
    offset: int,
    limit: int,
    exclude_authors: Collection[int] = (),
    answers: Answers | None = None,
) -> SearchPage:
    """The engine's answer; when too few articles hold most of the words (or none), the
    answer for the spelling correction of ``q`` if that finds articles holding them. Every
    page of a query takes the same path, so paging stays consistent. A corrected answer is
    marked ``relaxed`` (it is not what was typed). With ``answers``: a page answered lately
    is taken from there, and a new one kept there."""
    key = (q, offset, limit, frozenset(exclude_authors), engine.generation)
    return await _kept_answer(
        answers, key, "search_answers", lambda: _find(engine, q, offset, limit, exclude_authors)
    )


async def _find(
    engine: SearchEngine, q: str, offset: int, limit: int, exclude_authors: Collection[int]
) -> SearchPage:
    found = await engine.search(q, offset=offset, limit=limit, exclude_authors=exclude_authors)
    if found.total and not found.relaxed:
        return found
    fixed = await engine.correct(q)
    if not fixed or normalize(fixed) == normalize(q):
        return found
    better = await engine.search(fixed, offset=offset, limit=limit, exclude_authors=exclude_authors)
    if not better.total or better.relaxed:
        return found
    return SearchPage(better.total, better.ids, relaxed=True)


async def find_unblocked(
    runtime: Runtime,
    session: AsyncSession,
    engine: SearchEngine,
    q: str,
    *,
    offset: int,
    limit: int,
    hidden: relation_service.Blocks,
    answers: Answers | None = None,
) -> SearchPage:
    """:func:`find` without articles by authors in ``hidden``. A blacklist cached whole goes
    into the engine query. A LARGE one is never read whole: the authors of the page's hits
    are asked about, the blocked ones join the query's hidden authors and the page is asked
    again, up to BLOCKED_ROUNDS times, so it stays full; a blocked author still there after
    that is dropped from the page (shorter). The hidden authors are thus those met on this
    page: hits of blocked authors before ``offset`` still count in the offset and in
    ``total``, so pages can shift by them."""
    if not hidden.large:
        return await find(
            engine, q, offset=offset, limit=limit, exclude_authors=hidden.ids, answers=answers
        )
    excluded: set[int] = set()
    cleared: set[int] = set()  # authors asked about and not blocked
    for _ in range(BLOCKED_ROUNDS):
        found = await find(
            engine, q, offset=offset, limit=limit, exclude_authors=excluded, answers=answers
        )
        cards = await get_cards(runtime.cache, session, found.ids)
        authors = {card["aut_id"] for card in cards.values()} - cleared
        blocked = await relation_service.blocked_among(runtime, session, hidden, authors)
        cleared |= authors - blocked
        if not blocked:
            return found
        excluded |= blocked
    ids = [i for i in found.ids if i in cards and cards[i]["aut_id"] not in excluded]
    return SearchPage(found.total, ids, relaxed=found.relaxed)


async def present(
    runtime: Runtime,
    session: AsyncSession,
    ids: Sequence[int],
    *,
    extra: ExtraOps | None = None,
) -> tuple[orjson.Fragment, list[Any]]:
    """Article items in ``ids`` order (an article withdrawn since it was indexed is skipped),
    written as JSON, and the results of ``extra``'s commands, queued on the counters' round
    trip (none when Redis failed)."""
    cards = await get_entries(runtime.cache, session, ids)
    shown = [(i, cards[i]) for i in ids if i in cards]
    return await render_cards(runtime, session, shown, with_counts=LIST_COUNTS, extra=extra)


@dataclass(frozen=True)
class Remembered:
    """A logged-in search going into the history, and once per user and query a vote for
    the query's popularity: queued on the page's counters round trip; a first vote takes one
    more."""

    user_id: int
    q: str
    found: bool

    @property
    def popular(self) -> str | None:
        """The query as a popular suggestion would be, if this search may vote for it."""
        popular = normalize(self.q)
        return popular if self.found and len(popular) <= POPULAR_QUERY_MAX else None

    def queue(self, pipe: Any) -> None:
        key = history_key(self.user_id)
        pipe.zadd(key, {self.q: time.time()})
        pipe.zremrangebyrank(key, 0, -(HISTORY_MAX + 1))
        if (popular := self.popular) is not None:
            pipe.set(popular_seen_key(self.user_id, popular), 1, nx=True, ex=POPULAR_SEEN_SECONDS)

    async def vote(self, store: Any, results: list[Any]) -> None:
        """With what :meth:`queue` read: a user's first search of the query counts."""
        if not results:
            log.warning("search.history_not_recorded user=%s", self.user_id)
            return
        popular = self.popular
        if popular is None or not results[-1]:
            return
        try:
            users = await store.zincrby(POPULAR_KEY, 1, popular)
            if users >= POPULAR_MIN_USERS:
                await store.zadd(POPULAR_LEX_KEY, {popular: 0})
        except RedisError:
            log.warning("search.popular_not_counted user=%s", self.user_id, exc_info=True)


# -- E06 / E07 history --------------------------------------------------------------------------


async def history(runtime: Runtime, user_id: int) -> list[str]:
    """My last 10 distinct keywords, newest first."""
    return list(await runtime.store.zrevrange(history_key(user_id), 0, HISTORY_MAX - 1))


async def clear_history(runtime: Runtime, user_id: int) -> None:
    await runtime.store.delete(history_key(user_id))


# -- E04 suggestions ----------------------------------------------------------------------------


async def suggest(runtime: Runtime, q: str) -> list[str]:
    """Popular queries and titles that complete ``q``; when nothing does, a spelling
    correction of ``q`` (if it finds articles)."""
    q = clean_query(q)
    engine = engine_of(runtime)
    key = (q, engine.generation)
    popular = await popular_queries(runtime.store, q, limit=SUGGEST_MAX)
    try:
        titles = await _kept_answer(
            _kept_for(_titles, runtime, engine),
            key,
            "search_titles",
            lambda: engine.suggest(q, limit=SUGGEST_MAX),
        )
    except SearchUnavailable:
        if popular:
            return popular
        raise
    options = _merge(popular[:POPULAR_FIRST], titles, popular[POPULAR_FIRST:])
    if not options:
        fixed = await _kept_answer(
            _kept_for(_fixes, runtime, engine), key, "search_fixes", lambda: engine.correct(q)
        )
        if fixed and normalize(fixed) != normalize(q):
            options = [fixed]
    return options


def _merge(*sources: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for source in sources:
        for option in source:
            seen.setdefault(normalize(option), option)
    return list(seen.values())[:SUGGEST_MAX]


async def popular_queries(store: Any, prefix: str, *, limit: int) -> list[str]:
    """Suggested popular queries starting with ``prefix``, most searched first (none if
    Redis is down: titles still answer)."""
    key = normalize(prefix).encode()
    try:
        # Byte-wise range: every UTF-8 string starting with the prefix sorts before prefix+0xFF.
        members = await store.zrangebylex(
            POPULAR_LEX_KEY, b"[" + key, b"[" + key + b"\xff", start=0, num=50
        )
        if not members:
            return []
        scores = await store.zmscore(POPULAR_KEY, members)
    except RedisError:
        log.warning("search.popular_unavailable", exc_info=True)
        return []
    ranked = sorted(
        ((m, s or 0) for m, s in zip(members, scores, strict=True)), key=lambda p: (-p[1], p[0])
    )
    return [m for m, s in ranked if s >= POPULAR_MIN_USERS][:limit]


async def trim_popular(store: Any) -> int:
    """Keep the ``POPULAR_KEEP`` most searched queries (run by the index worker)."""
    size = await store.zcard(POPULAR_KEY)
    if size <= POPULAR_KEEP:
        return 0
    losers = await store.zrange(POPULAR_KEY, 0, size - POPULAR_KEEP - 1)
    if losers:
        async with store.pipeline(transaction=False) as pipe:
            pipe.zrem(POPULAR_KEY, *losers)
            pipe.zrem(POPULAR_LEX_KEY, *losers)
            await pipe.execute()
    return len(losers)
