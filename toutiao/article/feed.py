"""The channel feed (app.md E32, E33): pinned articles + this reader's next batch.

Where the batch comes from, cheapest first:

1. a **replay** of the batch recorded at the requested time (the history, read in round
   trip 1);
2. a **fresh batch from the reader's wait queue** (``recommend.serving``): checked in memory,
   recorded in round trip 2 with the cards' counters and the exposure event: no gRPC call,
   no SQL. The recommender refills the queue ahead of need;
3. the **recommender** (gRPC, with a deadline) when too little is queued: it ranks, records
   the batch and queues the next ones;
4. the **local recall** when the recommender is unavailable or has nothing: the channel's
   newest articles minus what this reader was just shown (the only SQL on this path),
   recorded like a queued batch;
5. **the database down**: what Redis holds (the queue, the channel's popular articles, the
   history, cached cards), said once per outage in the log.

Warm cost of 1 and 2: zero SQL and two Redis round trips (one more when the worker's L1
lacks cards of the queue head).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article import cache as article_cache
from toutiao.article.cache import AUTHOR, CHANNEL, Entry
from toutiao.article.cards import render_items
from toutiao.channel import service as channel_service
from toutiao.kit import metrics
from toutiao.kit.errors import BadRequest
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus
from toutiao.recommend import events, history, keys, recall, schemas, serving, waiting
from toutiao.recommend.waiting import Exclusions
from toutiao.runtime import Runtime

log = logging.getLogger("toutiao.feed")

BATCH_SIZE = 10
MAX_PINNED = 20
HOT_READ = 100  # popular articles read when serving from Redis alone
OUTAGE_GAP = 300.0  # seconds without a database failure that end an outage (for the log)
_outage = {"last": -OUTAGE_GAP}
# Last pinned ids seen per channel: lets round trip 1 fetch their cards before it knows them.
_pinned_guess: dict[int, list[int]] = {}

# (article id, its trace: the recall sources that found it, whose track strings are written
# when the page is, or the track strings themselves, as the recommender gave them)
Picks = list[tuple[int, str | dict[str, str]]]


@dataclass
class Page:
    picks: Picks
    pre_timestamp: int
    exposure: str = ""
    record: Callable[[Any], None] | None = None  # queued on round trip 2's pipeline


@dataclass
class Ask:
    """One feed request, as the batch sources see it."""

    runtime: Runtime
    session: AsyncSession
    reader: serving.Reader | None  # None: no id to keep a history under
    channel_id: int
    timestamp: int
    count: int
    pinned: list[int]
    cards: dict[int, Entry]  # filled as sources read cards (L1 entries: nothing decoded)
    state: serving.QueueState | None  # None when Redis could not be read


def pinned_key(channel_id: int) -> str:
    return f"ch:{channel_id}:art:top"


async def check_channel(runtime: Runtime, session: AsyncSession, channel_id: int) -> None:
    if channel_id == 0:
        return
    if channel_id not in await channel_service.all_channel_ids(runtime.cache, session):
        raise BadRequest("channel_id: invalid channel id")


async def _round_trip_one(
    runtime: Runtime, session: AsyncSession, ask: Ask, *, load: bool = True
) -> None:
    """Pinned ids, the reader's queue state and the cards of likely pinned ids: one pipeline
    (two concurrent ones when the cache and storage roles are two servers)."""
    guess = _pinned_guess.get(ask.channel_id, [])
    ask.cards, lacking = article_cache.split_entries(guess)
    reader = ask.reader
    raws: list[Any] = []
    reading: serving.Reading | None = None
    try:
        async with runtime.store.pipeline(transaction=False) as pipe:
            pipe.zrevrange(pinned_key(ask.channel_id), 0, MAX_PINNED - 1)
            if reader is not None:
                reading = serving.queue_read(pipe, reader, ask.timestamp, ask.count)
            shared = runtime.redis.cache is runtime.redis.storage
            if lacking and shared:
                pipe.mget([article_cache.card_key(i) for i in lacking])
            results = await pipe.execute()
        ask.pinned = [int(m) for m in results[0]]
        if reading is not None:
            ask.state = serving.parse_state(reading, results[1 : 1 + reading.commands])
        if lacking:
            raws = (
                results[-1]
                if shared
                else await runtime.cache.mget([article_cache.card_key(i) for i in lacking])
            )
    except RedisError:
        log.warning("feed.redis_degraded channel=%s", ask.channel_id)
    _pinned_guess[ask.channel_id] = ask.pinned
    ask.cards.update(
        await article_cache.absorb_entries(runtime.cache, session, lacking, raws, load=load)
    )
    unguessed = [i for i in ask.pinned if i not in ask.cards and i not in guess]
    if unguessed:  # pinning changed since the last request
        ask.cards.update(
            await article_cache.get_entries(runtime.cache, session, unguessed, load=load)
        )


def _trace(kind: str, article_id: int, channel_id: int, viewer: str) -> str:
    raw = orjson.dumps(
        {"action": kind, "art_id": article_id, "channel_id": channel_id, "user": viewer}
    )
    return base64.urlsafe_b64encode(raw).decode()


def local_traces(article_id: int, channel_id: int, viewer: str) -> dict[str, str]:
    return {
        k: _trace(k, article_id, channel_id, viewer) for k in ("click", "collect", "share", "read")
    }


async def local_recall(
    session: AsyncSession, channel_id: int, before_ms: int, exclude: list[int], count: int
) -> tuple[list[int], int]:
    """Newest approved articles published strictly before ``before_ms``: the fallback batch."""
    before = datetime.fromtimestamp(before_ms / 1000)  # noqa: DTZ006 - naive server-local, as stored
    query = select(Article.article_id, Article.pubdate).where(
        Article.status == ArticleStatus.APPROVED, Article.pubdate < before
    )
    if channel_id:
        query = query.where(Article.channel_id == channel_id)
    if exclude:
        query = query.where(Article.article_id.not_in(exclude))
    rows = (
        await session.execute(
            query.order_by(Article.pubdate.desc(), Article.article_id.desc()).limit(count)
        )
    ).all()
    pre = int(rows[-1].pubdate.timestamp() * 1000) if rows else 0
    return [row.article_id for row in rows], pre


def picks_of(batch: serving.Pairs) -> Picks:
    """A batch's picks: each traced by its sources (the track strings are written with the
    page)."""
    return [(aid, sources) for aid, sources in batch]


def recorder(
    ask: Ask, reader: serving.Reader, served: serving.Served, *, refill: bool = True
) -> Callable[[Any], None]:
    """Round trip 2's share of recording a batch the API chose."""
    cards = ask.cards  # read when round trip 2 is queued: by then every pick's card is in
    now_ms = time.time() * 1000

    def record(pipe: Any) -> None:
        channel_of = {aid: cards[aid][CHANNEL] for aid, _ in served.batch if aid in cards}
        serving.queue_record(
            pipe,
            reader,
            ask.timestamp,
            served,
            channel_of=channel_of,
            now_ms=now_ms,
            count=ask.count,
            refill=refill,
        )

    return record


async def visible_channels(ask: Ask) -> frozenset[int]:
    if ask.channel_id:
        return frozenset()
    return await channel_service.all_channel_ids(ask.runtime.cache, ask.session)


async def _from_queue(ask: Ask, state: serving.QueueState, reader: serving.Reader) -> Page | None:
    head = serving.head(state, ask.count)
    lacking = [a for a in head if a not in ask.cards]
    ask.cards.update(await article_cache.get_entries(ask.runtime.cache, ask.session, lacking))
    cards = ask.cards
    facts = {a: (cards[a][AUTHOR], cards[a][CHANNEL]) for a in head if a in cards}
    served = serving.choose(
        state,
        reader,
        ask.count,
        pinned=set(ask.pinned),
        facts=facts,
        visible=await visible_channels(ask),
    )
    if served is None:
        return None
    ids = [aid for aid, _ in served.batch]
    return Page(
        picks_of(served.batch),
        state.position.latest,
        schemas.exposure(reader.uid, ids),
        recorder(ask, reader, served),
    )


async def _from_recommender(ask: Ask) -> Page | None:
    reco = ask.runtime.reco
    if reco is None:
        return None
    reader = ask.reader
    uid = reader.uid if reader else ""
    # The recommender only chooses: this request records what it serves in round trip 2,
    # so a request that fails (or gives up on the recommender's deadline) marks nothing.
    batch = await reco.user_recommend(
        uid, ask.channel_id, ask.count, ask.timestamp, caller_records=True
    )
    if batch is None:
        return None
    fresh = ask.state is None or ask.state.position.is_fresh(ask.timestamp)
    if not batch.items and fresh:
        return None  # nothing left for this reader: the local recall answers
    picks = [(item.article_id, item.track) for item in batch.items]
    page = Page(picks, batch.time_stamp, batch.exposure)
    if reader is not None and fresh:
        pairs = [(item.article_id, schemas.sources_of(item.track)) for item in batch.items]
        served = serving.Served(pairs, [aid for aid, _ in pairs], 0)
        page.record = recorder(ask, reader, served, refill=False)  # it just queued the rest
    return page


async def _allowed(ask: Ask, ids: list[int]) -> list[int]:
    """Those of ``ids`` (their cards read) a registered reader may be served: none disliked,
    none by an author in a blacklist relation with them. The cached exclusions read in round
    trip 1 when they are all of them; else one query bounded by ``ids`` (the fallback is
    rare)."""
    reader = ask.reader
    user_id = keys.registered_user(reader.uid) if reader is not None else None
    if user_id is None:
        return ids
    known = ask.state.exclusions if ask.state is not None else None
    if known is not None:
        ids = [i for i in ids if known.allows(i, ask.cards[i][AUTHOR])]
        if known.complete:
            return ids
    authors = {i: ask.cards[i][AUTHOR] for i in ids}
    dropped = await recall.excluded(ask.session, user_id, authors)
    return [i for i in ids if i not in dropped]


async def _shown_lately(ask: Ask) -> list[int]:
    """What a reader pulling fresh articles was shown lately: the local recall skips them as
    the recommender would (one more round trip, on the local recall only: the recommender's
    stand-in, or the feed of a deployment without one)."""
    reader, state = ask.reader, ask.state
    if reader is None or state is None or not state.position.is_fresh(ask.timestamp):
        return []
    try:
        return await waiting.shown_lately(ask.runtime.store, reader.uid)
    except RedisError:
        return []


async def _from_local_recall(ask: Ask) -> Page:
    state = ask.state
    recent = state.position.recent if state else set()
    skip = [*ask.pinned, *recent, *await _shown_lately(ask)]
    ids, pre = await local_recall(ask.session, ask.channel_id, ask.timestamp, skip, ask.count)
    if len(ids) < ask.count and state is not None and state.position.newest:
        # a small channel: skipping only the last batch still never repeats it
        skip = [*ask.pinned, *state.position.newest, *ids]
        more, older = await local_recall(
            ask.session, ask.channel_id, ask.timestamp, skip, ask.count - len(ids)
        )
        ids, pre = ids + more, older if more else pre
    ask.cards.update(
        await article_cache.get_entries(
            ask.runtime.cache, ask.session, [i for i in ids if i not in ask.cards]
        )
    )
    ids = await _allowed(ask, [i for i in ids if i in ask.cards])
    reader = ask.reader
    if reader is None or state is None:
        viewer = reader.uid if reader else ""
        return Page([(i, local_traces(i, ask.channel_id, viewer)) for i in ids], pre)
    batch = [(i, "recent") for i in ids]
    page = Page(picks_of(batch), pre, schemas.exposure(reader.uid, ids) if ids else "")
    if ids and state.position.is_fresh(ask.timestamp):  # the next pull skips these
        # and they leave the reader's queue, where a late recommender call may have put them
        page.record = recorder(
            ask, reader, serving.Served(batch, ids, 0), refill=ask.runtime.reco is not None
        )
        if ask.runtime.reco is not None:
            # a stand-in for the recommender's batch: it chains like one, so scrolling back
            # replays the batch before it. Without a recommender every batch is the local
            # recall's, and the cursor walks the channel back by publication time.
            page.pre_timestamp = state.position.latest
    return page


async def _batch(ask: Ask) -> Page:
    state, reader = ask.state, ask.reader
    if state is not None and reader is not None:
        position = state.position
        if not position.is_fresh(ask.timestamp) and position.at:
            metrics.feed_batch("replay")
            return Page(picks_of(position.batch), position.older)
        if position.is_fresh(ask.timestamp):
            page = await _from_queue(ask, state, reader)
            if page is not None:
                metrics.feed_batch("queue")
                return page
    page = await _from_recommender(ask)
    if page is not None:
        metrics.feed_batch("recommender")
        return page
    metrics.feed_batch("local")
    return await _from_local_recall(ask)


async def channel_feed(
    runtime: Runtime,
    session: AsyncSession,
    *,
    viewer: str,
    channel_id: int,
    timestamp: int,
    with_top: bool,
    count: int = BATCH_SIZE,
) -> dict[str, Any]:
    """``{pre_timestamp, results}`` for E33 (E32 calls it with the current time)."""
    await check_channel(runtime, session, channel_id)
    reader = serving.Reader(viewer, channel_id) if viewer else None
    ask = Ask(runtime, session, reader, channel_id, timestamp, count, [], {}, None)
    try:
        await _round_trip_one(runtime, session, ask)
        page = await _batch(ask)
        await _cards_of(ask, page, load=True)
    except SQLAlchemyError:
        _database_down(channel_id)
        metrics.feed_batch("redis")
        page = await _from_redis(ask)
        await _cards_of(ask, page, load=False)
    return await _present(ask, page, with_top=with_top, viewer=viewer)


async def _cards_of(ask: Ask, page: Page, *, load: bool) -> None:
    """Cards of picks no source has read yet (the recommender's, a replay's)."""
    lacking = [aid for aid, _ in page.picks if aid not in ask.cards]
    if lacking:
        found = await article_cache.get_entries(ask.runtime.cache, ask.session, lacking, load=load)
        ask.cards.update(found)


def _database_down(channel_id: int) -> None:
    now = time.monotonic()
    if now - _outage["last"] > OUTAGE_GAP:
        log.warning(
            "feed.database_down channel=%s: feeds served from Redis (queued batches, popular "
            "articles, cached cards) until the database answers",
            channel_id,
        )
    _outage["last"] = now


async def _from_redis(ask: Ask) -> Page:
    """The next batch from Redis alone: the queue, then the channel's popular articles, with
    cached cards only; a replay when the history has the batch. For a registered reader
    whose exclusions are not all known (cached whole under the current version), only the
    queue the recommender checked under that version."""
    await _round_trip_one(ask.runtime, ask.session, ask, load=False)
    reader, state = ask.reader, ask.state
    if state is not None and not state.position.is_fresh(ask.timestamp):
        return Page(picks_of(state.position.batch), state.position.older)
    queued = state.waiting if state else []
    excl = state.exclusions if state else None
    if excl is None:  # a registered reader's, not known now
        anonymous = reader is None or not reader.registered
        excl = Exclusions(set(), set(), state.version if state else "", complete=anonymous)
    pairs = list(queued)
    if excl.complete:  # else only what the recommender checked: the queue, under its tag
        try:
            hot = await ask.runtime.store.zrevrange(keys.hot(ask.channel_id), 0, HOT_READ - 1)
        except RedisError:
            hot = []
        seen = {a for a, _ in queued}
        pairs += [(int(a), "hot") for a in hot if int(a) not in seen]
    lacking = [a for a, _ in pairs if a not in ask.cards]
    ask.cards.update(
        await article_cache.get_entries(ask.runtime.cache, ask.session, lacking, load=False)
    )
    cards = ask.cards
    facts = {a: (cards[a][AUTHOR], cards[a][CHANNEL]) for a, _ in pairs if a in cards}
    position = state.position if state else history.Position(0, 0, 0)
    candidates = serving.QueueState(position, pairs, excl, state.checked if state else None)
    served = serving.choose(
        candidates,
        reader or serving.Reader("", ask.channel_id),
        ask.count,
        pinned=set(ask.pinned),
        facts=facts,
        visible={channel for _, channel in facts.values()},  # the channel list may be gone
        partial=True,
    )
    if served is None:
        return Page([], 0)
    page = Page(picks_of(served.batch), position.latest)
    if reader is not None and state is not None:
        page.record = recorder(ask, reader, served, refill=False)
    return page


async def _present(ask: Ask, page: Page, *, with_top: bool, viewer: str) -> dict[str, Any]:
    """The page: its items written straight from the cards' entries (``results`` is JSON
    already, which the response's encoder copies)."""
    cards, channel_id = ask.cards, ask.channel_id
    pinned = set(ask.pinned)
    tops = [i for i in ask.pinned if i in cards] if with_top else []
    picks = [(aid, trace) for aid, trace in page.picks if aid in cards and aid not in pinned]

    def extra(pipe: Any) -> None:
        if page.record is not None:
            page.record(pipe)
        if page.exposure and page.picks:
            events.queue_event(
                pipe,
                action="exposure",
                user_id=viewer,
                article_id=None,
                channel_id=channel_id,
                param=page.exposure,
            )

    pinned_traces: Picks = [(i, local_traces(i, channel_id, viewer)) for i in tops]
    results = await render_items(
        ask.runtime,
        ask.session,
        [(aid, cards[aid], trace, 1) for aid, trace in pinned_traces]
        + [(aid, cards[aid], trace, 0) for aid, trace in picks],
        uid=ask.reader.uid if ask.reader else "",
        channel_id=channel_id,
        extra=extra,
    )
    return {"pre_timestamp": page.pre_timestamp, "results": results}
