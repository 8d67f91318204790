"""The channel feed (app.md E32, E33): pinned articles + the recommender's batch.

Warm cost: zero SQL and at most two Redis round trips. Round trip 1 reads the pinned list and
the cards L1 lacks in one pipeline; round trip 2 is ``cards.stage_two`` (authors, comment
counters and the exposure event). The recommender is a gRPC call with a deadline; when it
fails, a chronological local recall answers instead (the only SQL on this path).
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any

import orjson
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article import cache as article_cache
from toutiao.article.cards import present_cards
from toutiao.channel import service as channel_service
from toutiao.kit.errors import BadRequest
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus
from toutiao.recommend import events
from toutiao.runtime import Runtime

log = logging.getLogger("toutiao.feed")

BATCH_SIZE = 10
MAX_PINNED = 20
# Last pinned ids seen per channel: lets round trip 1 fetch their cards before it knows them.
_pinned_guess: dict[int, list[int]] = {}


def pinned_key(channel_id: int) -> str:
    return f"ch:{channel_id}:art:top"


async def check_channel(runtime: Runtime, session: AsyncSession, channel_id: int) -> None:
    if channel_id == 0:
        return
    known = {ch["id"] for ch in await channel_service.all_channels(runtime.cache, session)}
    if channel_id not in known:
        raise BadRequest("channel_id: invalid channel id")


async def _round_trip_one(
    runtime: Runtime, session: AsyncSession, channel_id: int, wanted: list[int]
) -> tuple[list[int], dict[int, dict[str, Any]]]:
    """Pinned ids (fresh) and the cards of ``wanted`` + likely pinned ids, in one pipeline."""
    guess = _pinned_guess.get(channel_id, [])
    ids = list(dict.fromkeys([*guess, *wanted]))
    cards, lacking = article_cache.split_l1(ids)
    shared = runtime.redis.cache is runtime.redis.storage
    pinned: list[int] = []
    raws: list[Any] = []
    try:
        if shared:
            async with runtime.store.pipeline(transaction=False) as pipe:
                pipe.zrevrange(pinned_key(channel_id), 0, MAX_PINNED - 1)
                if lacking:
                    pipe.mget([article_cache.card_key(i) for i in lacking])
                results = await pipe.execute()
            pinned, raws = [int(m) for m in results[0]], (results[1] if lacking else [])
        else:
            pinned = [
                int(m)
                for m in await runtime.store.zrevrange(pinned_key(channel_id), 0, MAX_PINNED - 1)
            ]
            raws = (
                await runtime.cache.mget([article_cache.card_key(i) for i in lacking])
                if lacking
                else []
            )
    except RedisError:
        log.warning("feed.redis_degraded channel=%s", channel_id)
        raws = []
    _pinned_guess[channel_id] = pinned
    cards.update(await article_cache.absorb(runtime.cache, session, lacking, raws))
    unguessed = [i for i in pinned if i not in ids]  # pinning changed since the last request
    if unguessed:
        cards.update(await article_cache.get_cards(runtime.cache, session, unguessed))
    return pinned, cards


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
    batch = (
        await runtime.reco.user_recommend(viewer, channel_id, count, timestamp)
        if runtime.reco
        else None
    )
    if batch is not None:
        picks = [(item.article_id, item.track) for item in batch.items]
        pre_timestamp, exposure = batch.time_stamp, batch.exposure
    else:
        picks, pre_timestamp, exposure = [], 0, ""
    pinned, cards = await _round_trip_one(runtime, session, channel_id, [a for a, _ in picks])
    if batch is None:
        ids, pre_timestamp = await local_recall(session, channel_id, timestamp, pinned, count)
        picks = [(i, local_traces(i, channel_id, viewer)) for i in ids]
        cards.update(
            await article_cache.get_cards(
                runtime.cache, session, [i for i in ids if i not in cards]
            )
        )
    chosen = [cards[i] for i in pinned if i in cards] if with_top else []
    tops = len(chosen)
    tracks = []
    for article_id, track in picks:
        if article_id in cards and article_id not in pinned:
            chosen.append(cards[article_id])
            tracks.append(track)

    def record_exposure(pipe: Any) -> None:
        if exposure and picks:
            events.queue_event(
                pipe,
                action="exposure",
                user_id=viewer,
                article_id=None,
                channel_id=channel_id,
                param=exposure,
            )

    items, _ = await present_cards(runtime, session, chosen, extra=record_exposure)
    for index, item in enumerate(items):
        item["is_top"] = 1 if index < tops else 0
        item["trace"] = (
            tracks[index - tops]
            if index >= tops
            else local_traces(item["art_id"], channel_id, viewer)
        )
    return {"pre_timestamp": pre_timestamp, "results": items}
