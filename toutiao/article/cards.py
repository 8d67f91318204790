"""Turning cached cards into API items: author names and live counters, in one round trip.

Warm reads must stay within two Redis round trips per request (DESIGN.md): the cards come
from L1 or one MGET, then author profiles, counters and any per-request extras (the caller's
flags, tracking writes) share ONE pipeline when the cache and storage roles are one server
(they run concurrently, one pipeline each, when they are two).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import cachebox
import orjson
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article.cache import AUTHOR, MEMBERS, NOT_SHOWN, Entry
from toutiao.kit import metrics
from toutiao.models import ArticleAttitude, Collection, Comment
from toutiao.models.enums import Attitude, CommentStatus
from toutiao.recommend.schemas import TraceWriter
from toutiao.runtime import Runtime
from toutiao.stats import counters as c
from toutiao.user import cache as user_cache

log = logging.getLogger("toutiao.article")

# Author name and photo key: read on every card, changed rarely; 10 s in-process (cachebox,
# as the cards' L1: a page reads one per card).
_l1_authors: cachebox.TTLCache[int, dict[str, Any]] = cachebox.TTLCache(50_000, 10)

ExtraOps = Callable[[Any], None]  # queues commands on the storage pipeline


def clear_l1() -> None:
    _l1_authors.clear()


async def stage_two(
    runtime: Runtime,
    session: AsyncSession,
    *,
    author_ids: Sequence[int] = (),
    counter_reads: Sequence[tuple[c.Counter, int]] = (),
    extra: ExtraOps | None = None,
) -> tuple[dict[int, dict[str, Any]], dict[tuple[str, int], int], list[Any]]:
    """Authors, counters and extras: ``(authors, {(counter key, member): n}, extra results)``."""
    wanted = list(dict.fromkeys(author_ids))
    # Read L1 once: an entry can expire while the round trip below is awaited.
    authors = {a: found for a in wanted if (found := _l1_authors.get(a)) is not None}
    need = [a for a in wanted if a not in authors]
    metrics.cache_lookup("author", "l1", hits=len(wanted) - len(need), misses=len(need))
    shared = runtime.redis.cache is runtime.redis.storage
    groups = _by_counter(counter_reads)
    try:
        store_results, profile_raws = await _pipelines(runtime, need, groups, extra, shared)
    except RedisError:
        metrics.dependency_error("redis", "article.cards")
        log.warning("article.redis_degraded: counters and authors from the database")
        authors, counts = await _from_database(runtime, session, author_ids, counter_reads)
        return authors, counts, []
    counts = {
        (key, member): int(score or 0)
        for (key, members), scores in zip(groups.items(), store_results, strict=False)
        for member, score in zip(members, scores or (), strict=False)
    }
    extras = store_results[len(groups) :]
    authors.update(await _remember_authors(runtime, session, need, profile_raws))
    return authors, counts, extras


def _by_counter(counter_reads: Sequence[tuple[c.Counter, int]]) -> dict[str, list[int]]:
    """The members to read per counter key, in order: one ``ZMSCORE`` each, not one
    ``ZSCORE`` per member and counter."""
    groups: dict[str, list[int]] = {}
    for counter, member in counter_reads:
        groups.setdefault(counter.key, []).append(member)
    return groups


async def _pipelines(
    runtime: Runtime,
    need: list[int],
    groups: dict[str, list[int]],
    extra: ExtraOps | None,
    shared: bool,
) -> tuple[list[Any], list[Any]]:
    profile_keys = [user_cache.profile_key(a) for a in need]

    async def storage_pipeline(with_profiles: bool) -> list[Any]:
        if not groups and extra is None and not (with_profiles and profile_keys):
            return []
        async with runtime.store.pipeline(transaction=False) as pipe:
            for key, members in groups.items():
                pipe.zmscore(key, members)
            if extra is not None:
                extra(pipe)
            if with_profiles and profile_keys:
                pipe.mget(profile_keys)
            return list(await pipe.execute())

    if shared:
        results = await storage_pipeline(with_profiles=True)
        if profile_keys:
            return results[:-1], results[-1]
        return results, []
    if not profile_keys:
        return await storage_pipeline(with_profiles=False), []
    store_results, profile_raws = await asyncio.gather(
        storage_pipeline(with_profiles=False), runtime.cache.mget(profile_keys)
    )
    return store_results, profile_raws


async def _remember_authors(
    runtime: Runtime, session: AsyncSession, need: list[int], raws: list[Any]
) -> dict[int, dict[str, Any]]:
    """The authors of ``need`` from their cached profiles (``raws``), else the database; each
    kept in L1 too. Returns what it found (none when the database is down)."""
    found: dict[int, dict[str, Any]] = {}
    missing = []
    for author_id, raw in zip(need, raws, strict=False):
        if raw and raw not in ("-1", "-2"):
            _l1_authors[author_id] = found[author_id] = _author(orjson.loads(raw))
        else:
            missing.append(author_id)
    missing.extend(need[len(raws) :])
    metrics.cache_lookup("author", "redis", hits=len(need) - len(missing), misses=len(missing))
    if missing:
        try:
            profiles = await user_cache.get_profiles(runtime.cache, session, missing)
        except SQLAlchemyError:  # database down: the cards still show, unnamed this time
            log.warning("article.authors_unavailable count=%d", len(missing))
            return found
        for author_id in missing:
            author = _author(profiles.get(author_id, {"name": "", "photo": ""}))
            _l1_authors[author_id] = found[author_id] = author
    return found


def _author(profile: dict[str, Any]) -> dict[str, Any]:
    return {"name": profile.get("name", ""), "photo": profile.get("photo") or ""}


async def _from_database(
    runtime: Runtime,
    session: AsyncSession,
    author_ids: Sequence[int],
    counter_reads: Sequence[tuple[c.Counter, int]],
) -> tuple[dict[int, dict[str, Any]], dict[tuple[str, int], int]]:
    profiles = await user_cache.get_profiles(
        runtime.cache, session, list(dict.fromkeys(author_ids))
    )
    authors = {a: _author(p) for a, p in profiles.items()}
    members = sorted({m for _, m in counter_reads})
    counts = await article_counts_from_db(session, members) if members else {}
    return authors, {(k, m): n for m, per in counts.items() for k, n in per.items()}


async def article_counts_from_db(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Comment, like and collect counts by SQL: the fallback when Redis is down."""
    result = {
        i: {c.ARTICLE_COMMENTS.key: 0, c.ARTICLE_LIKES.key: 0, c.ARTICLE_COLLECTS.key: 0}
        for i in ids
    }
    queries = (
        (
            c.ARTICLE_COMMENTS,
            select(Comment.article_id, func.count())
            .where(Comment.article_id.in_(ids), Comment.status == CommentStatus.APPROVED)
            .group_by(Comment.article_id),
        ),
        (
            c.ARTICLE_LIKES,
            select(ArticleAttitude.article_id, func.count())
            .where(ArticleAttitude.article_id.in_(ids), ArticleAttitude.attitude == Attitude.LIKE)
            .group_by(ArticleAttitude.article_id),
        ),
        (
            c.ARTICLE_COLLECTS,
            select(Collection.article_id, func.count())
            .where(Collection.article_id.in_(ids), Collection.is_deleted.is_(False))
            .group_by(Collection.article_id),
        ),
    )
    for counter, query in queries:
        for article_id, count in await session.execute(query):
            result[article_id][counter.key] = int(count)
    return result


async def present_cards(
    runtime: Runtime,
    session: AsyncSession,
    cards: Sequence[dict[str, Any]],
    *,
    with_counts: Sequence[c.Counter] = (c.ARTICLE_COMMENTS,),
    extra: ExtraOps | None = None,
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Cards + ``aut_name`` + the requested counters (as ``comm_count``/``like_count``/...)."""
    reads = [(counter, card["art_id"]) for card in cards for counter in with_counts]
    authors, counts, extras = await stage_two(
        runtime,
        session,
        author_ids=[card["aut_id"] for card in cards],
        counter_reads=reads,
        extra=extra,
    )
    items = []
    for card in cards:
        item = {k: v for k, v in card.items() if k not in NOT_SHOWN}
        item["aut_name"] = authors.get(card["aut_id"], {}).get("name", "")
        for counter in with_counts:
            item[COUNT_FIELDS[counter.key]] = counts.get((counter.key, card["art_id"]), 0)
        items.append(item)
    return items, extras


# One feed item to write: the article, its card's L1 entry, its trace (the recall sources that
# found it, or the track strings themselves) and whether it is pinned (1) or not (0).
FeedItem = tuple[int, Entry, str | dict[str, str], int]


async def render_items(
    runtime: Runtime,
    session: AsyncSession,
    items: Sequence[FeedItem],
    *,
    uid: str,
    channel_id: int,
    extra: ExtraOps | None = None,
) -> orjson.Fragment:
    """A feed's items as a JSON array (what :func:`present_cards` gives, plus ``is_top`` and
    ``trace``), written from the cards' L1 entries (:func:`render_cards`)."""
    traces = TraceWriter(uid, channel_id)
    tails = [
        b'"is_top":%d,"trace":%s'
        % (top, traces.json(article_id, trace) if isinstance(trace, str) else orjson.dumps(trace))
        for article_id, _, trace, top in items
    ]
    written, _ = await render_cards(
        runtime,
        session,
        [(article_id, entry) for article_id, entry, _, _ in items],
        extra=extra,
        tails=tails,
    )
    return written


async def render_cards(
    runtime: Runtime,
    session: AsyncSession,
    cards: Sequence[tuple[int, Entry]],
    *,
    with_counts: Sequence[c.Counter] = (c.ARTICLE_COMMENTS,),
    extra: ExtraOps | None = None,
    tails: Sequence[bytes] = (),
) -> tuple[orjson.Fragment, list[Any]]:
    """:func:`present_cards` written as a JSON array straight from the cards' L1 entries
    (``(article id, entry)``): the authors and counters read in one round trip (with
    ``extra``, whose results come back too), nothing decoded or built as a dict. ``tails``:
    more members per item, as JSON (``"name":value``). The fragment goes into the response
    as it is."""
    author_ids = [entry[AUTHOR] for _, entry in cards]
    authors, counts, extras = await stage_two(
        runtime,
        session,
        author_ids=author_ids,
        counter_reads=[(counter, i) for i, _ in cards for counter in with_counts],
        extra=extra,
    )
    fields = [
        (counter.key, b',"%s":' % COUNT_FIELDS[counter.key].encode()) for counter in with_counts
    ]
    names: dict[int, bytes] = {}
    parts = []
    for index, ((article_id, entry), author_id) in enumerate(zip(cards, author_ids, strict=True)):
        name = names.get(author_id)
        if name is None:
            names[author_id] = name = orjson.dumps(authors.get(author_id, {}).get("name", ""))
        written = [b'{%s,"aut_name":%s' % (entry[MEMBERS], name)]
        for key, field in fields:
            written += (field, b"%d" % counts.get((key, article_id), 0))
        if tails:
            written += (b",", tails[index])
        written.append(b"}")
        parts.append(b"".join(written))
    return orjson.Fragment(b"[" + b",".join(parts) + b"]"), extras


COUNT_FIELDS = {
    c.ARTICLE_COMMENTS.key: "comm_count",
    c.ARTICLE_LIKES.key: "like_count",
    c.ARTICLE_COLLECTS.key: "collect_count",
}


def author_photo_url(runtime: Runtime, author: dict[str, Any]) -> str | None:
    return runtime.storage.url(author["photo"]) if author.get("photo") else None
