"""Article detail (app.md E34).

Warm cost: zero SQL and at most two Redis round trips; none for an anonymous reader of an
article read in the last seconds. Round trip 1 (cache role) reads the article's card, its
body and the cards of the similar articles, unless the process holds them all (L1); round
trip 2 (storage role, one pipeline) reads the author when the process lacks them, and for a
logged-in reader the follow / attitude / collection flags and the reading-history write. The
read counters and the click event are buffered in the process and written every few seconds
(``stats.activity``, ``recommend.events.flush_buffered``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from cachetools import TTLCache
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article import attitude as attitude_service
from toutiao.article import cache as article_cache
from toutiao.article import collection as collection_service
from toutiao.article.cards import author_photo_url, stage_two
from toutiao.article.lists import queue_history_write
from toutiao.kit import metrics
from toutiao.kit.cache import ABSENT, INVALIDATED, dumps
from toutiao.kit.errors import NotFound
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus, Relation
from toutiao.recommend import events
from toutiao.relation import service as relation_service
from toutiao.runtime import Runtime
from toutiao.stats import activity

log = logging.getLogger("toutiao.article")

SIMILAR_COUNT = 5
# The recommender's answers, per article. They change when its similarity job runs; articles
# withdrawn since are dropped with their cards, so a minute of staleness shows nothing stale.
_l1_similar: TTLCache[int, list[int]] = TTLCache(maxsize=20_000, ttl=60)


def clear_l1() -> None:
    _l1_similar.clear()


async def _round_trip_one(
    runtime: Runtime, session: AsyncSession, article_id: int, similar: list[int]
) -> tuple[dict[int, dict[str, Any]], str | None]:
    ids = list(dict.fromkeys([article_id, *similar]))
    cards, lacking = article_cache.split_l1(ids)
    content = article_cache.body_from_l1(article_id)
    if not lacking and content is not None:
        return cards, content  # a popular article: no round trip here
    raws: list[Any] = []
    content_raw = None
    try:
        async with runtime.cache.pipeline(transaction=False) as pipe:
            if lacking:
                pipe.mget([article_cache.card_key(i) for i in lacking])
            if content is None:
                pipe.get(article_cache.detail_key(article_id))
            results = await pipe.execute()
        raws = results[0] if lacking else []
        content_raw = results[-1] if content is None else None
    except RedisError:
        log.warning("detail.redis_degraded article=%s", article_id)
    cards.update(await article_cache.absorb(runtime.cache, session, lacking, raws))
    if content is not None:
        return cards, content
    if content_raw in (None, INVALIDATED):
        content = await article_cache.get_content(runtime.cache, session, article_id)
    else:
        content = None if content_raw == ABSENT else orjson.loads(content_raw)["content"]
    if content is not None and article_id in cards:
        article_cache.remember_body(article_id, content)
    return cards, content


async def _similar_ids(
    runtime: Runtime, session: AsyncSession, article_id: int, channel_id: int | None
) -> list[int] | None:
    found = _l1_similar.get(article_id)
    if found is not None:
        metrics.cache_lookup("article:similar", "l1", hits=1)
        return found
    metrics.cache_lookup("article:similar", "l1", misses=1)
    found = await runtime.reco.similar(article_id, SIMILAR_COUNT) if runtime.reco else None
    if found is not None:
        found = [i for i in found if i != article_id][:SIMILAR_COUNT]
        _l1_similar[article_id] = found
        return found
    if channel_id is None:
        return None
    rows = await session.scalars(
        select(Article.article_id)
        .where(
            Article.channel_id == channel_id,
            Article.status == ArticleStatus.APPROVED,
            Article.article_id != article_id,
        )
        .order_by(Article.pubdate.desc())
        .limit(SIMILAR_COUNT)
    )
    return list(rows)


async def article_detail(
    runtime: Runtime,
    session: AsyncSession,
    *,
    article_id: int,
    user_id: int | None,
    trace: str | None,
) -> dict[str, Any]:
    similar = await _similar_ids(runtime, session, article_id, None)
    cards, content = await _round_trip_one(runtime, session, article_id, similar or [])
    card = cards.get(article_id)
    if card is None or content is None:
        raise NotFound("The article does not exist.")
    if similar is None:  # the recommender is down: newest of the same channel
        similar = await _similar_ids(runtime, session, article_id, card["ch_id"]) or []
        cards.update(
            await article_cache.get_cards(
                runtime.cache, session, [i for i in similar if i not in cards]
            )
        )
    author_id = card["aut_id"]
    # The read counters and the click event are buffered in-process (flushed every few
    # seconds): an anonymous warm detail needs no round trip for them.
    activity.buffer().article_read(article_id, author_id)
    if trace:
        events.buffer_event(
            action="click",
            user_id=str(user_id or ""),
            article_id=article_id,
            channel_id=card["ch_id"],
            param=trace,
        )
    layout: list[tuple[str, int]] = []  # (name, commands queued), in pipeline order

    def caller_reads(pipe: Any) -> None:
        assert user_id is not None
        layout.append(("history", queue_history_write(pipe, user_id, article_id, time.time())))
        layout.append(("relation", relation_service.queue_relation_read(pipe, user_id, author_id)))
        layout.append(("attitude", attitude_service.queue_attitude_read(pipe, user_id, article_id)))
        layout.append(
            ("collected", collection_service.queue_collected_read(pipe, user_id, article_id))
        )

    authors, _, extras = await stage_two(
        runtime,
        session,
        author_ids=[author_id],
        extra=caller_reads if user_id is not None else None,
    )
    detail = {
        "art_id": article_id,
        "title": card["title"],
        "pubdate": card["pubdate"],
        "aut_id": author_id,
        "aut_name": authors.get(author_id, {}).get("name", ""),
        "aut_photo": author_photo_url(runtime, authors.get(author_id, {})),
        "is_followed": False,
        "attitude": -1,
        "content": content,
        "is_collected": False,
        "recomments": [
            {"art_id": i, "title": cards[i]["title"], "tracking": _tracking(i, article_id)}
            for i in similar
            if i in cards and i != article_id
        ],
    }
    if user_id is not None:
        await _caller_flags(
            runtime, session, detail, user_id, author_id, article_id, _split(layout, extras)
        )
    return detail


async def _caller_flags(
    runtime: Runtime,
    session: AsyncSession,
    detail: dict[str, Any],
    user_id: int,
    author_id: int,
    article_id: int,
    results: dict[str, list[Any]],
) -> None:
    def take(name: str) -> list[Any]:
        return results.get(name, [])

    relation = await relation_service.resolve_relation(
        runtime, session, user_id, author_id, take("relation")
    )
    detail["is_followed"] = relation == Relation.FOLLOW
    detail["attitude"] = await attitude_service.resolve_attitude(
        runtime, session, user_id, article_id, take("attitude")
    )
    detail["is_collected"] = await collection_service.resolve_collected(
        runtime, session, user_id, article_id, take("collected")
    )


def _split(layout: list[tuple[str, int]], extras: list[Any]) -> dict[str, list[Any]]:
    """Results of the extra commands by name; empty lists when Redis was down."""
    if not extras:
        return {}
    out, start = {}, 0
    for name, count in layout:
        out[name] = extras[start : start + count]
        start += count
    return out


def _tracking(article_id: int, source_id: int) -> str:
    return dumps({"action": "click", "art_id": article_id, "from": source_id, "source": "related"})
