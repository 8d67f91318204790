"""Article cards and bodies: L1 (in-process) -> Redis (cache role) -> SQL.

A *card* is what every list shows of an approved article: ``{art_id, title, aut_id, ch_id,
pubdate, cover, allow_comm}``. Counters and author names are joined at read time (they
change far more often than the card). Only approved articles have cards; anything else is
cached as absent, so every reader treats "not approved" and "missing" alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import cachebox
import orjson
from cachetools import TTLCache
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import broadcast, metrics
from toutiao.kit.cache import ABSENT, INVALIDATED, TTL, cached_json, dumps, invalidate
from toutiao.models import Article, ArticleContent
from toutiao.models.enums import ArticleStatus
from toutiao.recommend import events

CARD_TTL = TTL(1800, 600)
DETAIL_TTL = TTL(3600, 600)
ABSENT_TTL = TTL(300, 60)

# Cards stay in-process for a minute: a feed then rarely reads one from Redis (a queue's head
# is mostly articles this worker has not shown in the last few seconds, so a shorter life
# meant a third round trip on many fresh batches). An article that changes is dropped from
# every process at once (the ``articles`` broadcast topic, published by the content
# lifecycle; a process that lost its subscription empties its L1 on resubscribing), so the
# TTL only bounds what a failed publish leaves. A fresh feed batch reads about 25 of them:
# cachebox's cache (Rust) reads one in about a tenth of cachetools' time (bench: 55 us of a
# batch's 1.4 ms went to these reads). When full, it drops the oldest entry first.
# It keeps each card's JSON text, decoded on every read (about 0.6 us a card): a decoded card
# is three objects the garbage collector tracks (the card, its cover, the cover's images), and
# at 100,000 articles a worker's L1 of up to 50,000 of them made every full collection scan
# 150,000 more objects (16 ms on an idle machine against 2 ms at 10,000 articles; 30-60 ms
# under load, the fresh feed's p99 there). An entry is a plain tuple of the text, the facts a
# feed checks (author, channel) and the card as a feed item shows it, already encoded
# (:data:`Entry`): the feed reads and writes cards without decoding or encoding one. Text and a
# tuple of text and numbers are not tracked. None: known to be absent.
Entry = tuple[str, int, int, bytes]  # text, author id, channel id, the item's members (JSON)
AUTHOR, CHANNEL, MEMBERS = 1, 2, 3  # an entry's parts after the text
# A card's fields that lists do not show: every item is the card without them.
NOT_SHOWN = ("ch_id", "allow_comm")
_l1_cards: cachebox.TTLCache[int, Entry | None] = cachebox.TTLCache(50_000, 60)
_UNKNOWN: Any = object()  # not in L1 (None in L1 means: known to be absent)
# Bodies of the articles being read right now: bounded by size (characters), as short-lived
# as the cards, so a popular article's detail page needs no GET for its body.
_l1_bodies: TTLCache[int, str] = TTLCache(maxsize=16 * 1024 * 1024, ttl=10, getsizeof=len)


def body_from_l1(article_id: int) -> str | None:
    body = _l1_bodies.get(article_id)
    if body is None:
        metrics.cache_lookup("article:body", "l1", misses=1)
    else:
        metrics.cache_lookup("article:body", "l1", hits=1)
    return body


def remember_body(article_id: int, content: str) -> None:
    if len(content) <= _l1_bodies.maxsize // 64:  # one huge body must not evict the rest
        _l1_bodies[article_id] = content


def card_key(article_id: int) -> str:
    return f"art:{article_id}:card"


def detail_key(article_id: int) -> str:
    return f"art:{article_id}:detail"


def pubdate_of(article: Article) -> datetime:
    return article.pubdate or article.create_time


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def card_of(article: Article) -> dict[str, Any]:
    cover = article.cover or {"type": 0, "images": []}
    return {
        "art_id": article.article_id,
        "title": article.title,
        "aut_id": article.user_id,
        "ch_id": article.channel_id,
        "pubdate": iso(pubdate_of(article)),
        "cover": {"type": int(cover.get("type", 0)), "images": list(cover.get("images") or [])},
        "allow_comm": bool(article.allow_comment),
    }


def entry_of(text: str | bytes, card: dict[str, Any] | None = None) -> Entry:
    """The L1 entry of a card's JSON text (``card``: the text decoded, when the caller has it)."""
    if isinstance(text, bytes):
        text = text.decode()
    if card is None:
        card = orjson.loads(text)
    members = orjson.dumps({k: v for k, v in card.items() if k not in NOT_SHOWN})[1:-1]
    return (text, int(card.get("aut_id", 0)), int(card.get("ch_id", 0)), members)


def split_entries(ids: Iterable[int]) -> tuple[dict[int, Entry], list[int]]:
    """``(entries L1 holds, ids L1 knows nothing about)``; ids L1 knows are absent are
    dropped."""
    found: dict[int, Entry] = {}
    lacking: list[int] = []
    for article_id in dict.fromkeys(ids):
        # One read per id: an entry can expire between a membership test and a lookup.
        entry = _l1_cards.get(article_id, _UNKNOWN)
        if entry is _UNKNOWN:
            lacking.append(article_id)
        elif entry is not None:
            found[article_id] = entry
    metrics.cache_lookup("article:card", "l1", hits=len(found), misses=len(lacking))
    return found, lacking


def split_l1(ids: Iterable[int]) -> tuple[dict[int, dict[str, Any]], list[int]]:
    """``(cards L1 holds, ids L1 knows nothing about)``; ids L1 knows are absent are dropped.
    Every read decodes its own copy."""
    entries, lacking = split_entries(ids)
    return decoded(entries), lacking


def decoded(entries: dict[int, Entry]) -> dict[int, dict[str, Any]]:
    return {article_id: orjson.loads(entry[0]) for article_id, entry in entries.items()}


async def absorb(
    cache: Any, session: AsyncSession, lacking: list[int], raws: list[Any], *, load: bool = True
) -> dict[int, dict[str, Any]]:
    """:func:`absorb_entries`, the cards decoded."""
    return decoded(await absorb_entries(cache, session, lacking, raws, load=load))


async def absorb_entries(
    cache: Any, session: AsyncSession, lacking: list[int], raws: list[Any], *, load: bool = True
) -> dict[int, Entry]:
    """Cards for ``lacking`` from their Redis values (``raws``, None when not read): decoded
    into L1, and what Redis lacks loaded with one query and filled in one pipeline
    (``load=False``: left out, for a reader serving from Redis alone while the database is
    down).

    Callers that read the card keys inside a larger pipeline (feed, detail) share this."""
    found: dict[int, Entry] = {}
    to_load = []
    for article_id, raw in zip(lacking, [*raws, *[None] * (len(lacking) - len(raws))], strict=True):
        if raw is None or raw == INVALIDATED:
            to_load.append(article_id)
        elif raw == ABSENT:
            _l1_cards[article_id] = None
        else:
            _l1_cards[article_id] = found[article_id] = entry_of(raw)
    metrics.cache_lookup(
        "article:card", "redis", hits=len(lacking) - len(to_load), misses=len(to_load)
    )
    if to_load and load:
        found.update(await _fill(cache, to_load, await _load_cards(session, to_load)))
    return found


async def get_cards(
    cache: Any, session: AsyncSession, ids: Iterable[int], *, load: bool = True
) -> dict[int, dict[str, Any]]:
    """Cards of the approved articles among ``ids``: one MGET for what L1 lacks, one query for
    what Redis lacks (not with ``load=False``), one pipelined fill."""
    return decoded(await get_entries(cache, session, ids, load=load))


async def get_entries(
    cache: Any, session: AsyncSession, ids: Iterable[int], *, load: bool = True
) -> dict[int, Entry]:
    """:func:`get_cards` as L1 entries (see :data:`Entry`)."""
    found, lacking = split_entries(ids)
    if not lacking:
        return found
    try:
        raws = await cache.mget([card_key(a) for a in lacking])
    except RedisError:
        metrics.dependency_error("redis", "article.cards")
        raws = []
    found.update(await absorb_entries(cache, session, lacking, raws, load=load))
    return found


async def _load_cards(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = await session.scalars(
        select(Article).where(Article.article_id.in_(ids), Article.status == ArticleStatus.APPROVED)
    )
    return {row.article_id: card_of(row) for row in rows}


async def _fill(cache: Any, ids: list[int], loaded: dict[int, dict[str, Any]]) -> dict[int, Entry]:
    """Cache the cards loaded (and the absence of the rest of ``ids``): their entries."""
    texts = {a: dumps(card) for a, card in loaded.items()}
    try:
        async with cache.pipeline(transaction=False) as pipe:
            for article_id in ids:
                text = texts.get(article_id)
                value, ttl = (text, CARD_TTL) if text else (ABSENT, ABSENT_TTL)
                pipe.set(card_key(article_id), value, ex=ttl.draw(), nx=True)
            await pipe.execute()
    except RedisError:
        pass
    entries = {a: entry_of(text, loaded[a]) for a, text in texts.items()}
    for article_id in ids:
        _l1_cards[article_id] = entries.get(article_id)
    return entries


async def get_card(cache: Any, session: AsyncSession, article_id: int) -> dict[str, Any] | None:
    return (await get_cards(cache, session, [article_id])).get(article_id)


async def get_content(cache: Any, session: AsyncSession, article_id: int) -> str | None:
    """The HTML body of an approved article."""

    async def load() -> dict[str, Any] | None:
        content = await session.scalar(
            select(ArticleContent.content)
            .join(Article, Article.article_id == ArticleContent.article_id)
            .where(
                ArticleContent.article_id == article_id, Article.status == ArticleStatus.APPROVED
            )
        )
        return None if content is None else {"content": content}

    value = await cached_json(
        cache, detail_key(article_id), load, ttl=DETAIL_TTL, absent_ttl=ABSENT_TTL
    )
    return None if value is None else value["content"]


async def forget(cache: Any, *article_ids: int) -> None:
    """After an article is edited, approved, withdrawn or deleted (mp / mis)."""
    for article_id in article_ids:
        _l1_cards.pop(article_id, None)
        _l1_bodies.pop(article_id, None)
    await invalidate(cache, *(k for a in article_ids for k in (card_key(a), detail_key(a))))


async def article_changed(cache: Any, store: Any, *article_ids: int) -> None:
    """After an article is edited, approved, withdrawn, deleted, banned or moved (mp / mis):
    its card and body are forgotten and the recommenders drop their article metadata."""
    await forget(cache, *article_ids)
    async with store.pipeline(transaction=False) as pipe:
        events.queue_catalog_changed(pipe)
        await pipe.execute()


def clear_l1() -> None:
    _l1_cards.clear()
    _l1_bodies.clear()


BROADCAST_TOPIC = "articles"


def _drop_from_l1(key: str) -> None:
    """``key``: comma-separated article ids."""
    for part in key.split(","):
        if part.isdigit():
            _l1_cards.pop(int(part), None)
            _l1_bodies.pop(int(part), None)


broadcast.register(BROADCAST_TOPIC, drop=_drop_from_l1, reset=clear_l1)
