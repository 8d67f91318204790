"""In-process (L1) caches expire entries on their own clock: an entry can be there when a
membership test runs and gone at the lookup that follows. Readers of the L1 caches read
each entry once; these tests expire every entry between two reads of the clock."""

from __future__ import annotations

import gc
import itertools
from typing import Any

import orjson
import pytest
from cachetools import TTLCache

from toutiao.article import cache as article_cache
from toutiao.article import cards


def _flickering(step: float = 1.0) -> TTLCache[Any, Any]:
    """A TTL cache whose clock moves one step at every read of it and whose entries live 1.5
    steps: what is stored is found by the next read and expired at the one after."""
    ticks = itertools.count(step=step)
    return TTLCache(maxsize=100, ttl=step * 1.5, timer=lambda: next(ticks))


def _one_server_runtime() -> Any:
    """A stand-in runtime whose cache and storage roles are one server (what ``stage_two``
    looks at before its round trip, which the tests replace)."""

    class Handle:
        pass

    class Runtime:
        redis = Handle()

    runtime: Any = Runtime()
    runtime.redis.cache = runtime.redis.storage = object()
    return runtime


def test_card_expiring_between_two_reads_counts_as_lacking(monkeypatch: pytest.MonkeyPatch):
    l1 = _flickering()
    monkeypatch.setattr(article_cache, "_l1_cards", l1)
    l1[1] = article_cache.entry_of('{"art_id": 1}')  # stored at 0, expires at 1.5: a read at 1
    # finds it, at 2 not
    found, lacking = article_cache.split_l1([1])
    assert (found, lacking) in (({1: {"art_id": 1}}, []), ({}, [1]))


async def test_authors_expiring_during_the_round_trip_are_kept(monkeypatch: pytest.MonkeyPatch):
    """An author read from L1 before the counters' round trip is presented even when its
    entry expires while that round trip is awaited."""
    ticks = iter([0.0, 0.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    l1: TTLCache[int, dict[str, Any]] = TTLCache(
        maxsize=10, ttl=10, timer=lambda: next(ticks, 100.0)
    )
    monkeypatch.setattr(cards, "_l1_authors", l1)
    l1[7] = {"name": "seven", "photo": ""}

    runtime = _one_server_runtime()

    async def no_round_trip(*_args: Any) -> tuple[list[Any], list[Any]]:
        return [], []

    monkeypatch.setattr(cards, "_pipelines", no_round_trip)
    authors, _, _ = await cards.stage_two(runtime, None, author_ids=[7])  # type: ignore[arg-type]
    assert authors == {7: {"name": "seven", "photo": ""}}


async def test_cards_are_held_as_text_the_collector_never_scans(monkeypatch: pytest.MonkeyPatch):
    """A worker holds up to 50,000 cards: held decoded, each was three objects every full
    collection scanned (the fresh feed's p99 at 100,000 articles). Every read decodes its own
    copy, so a caller that changes it changes nothing held."""
    l1: TTLCache[Any, Any] = TTLCache(maxsize=100, ttl=60)
    monkeypatch.setattr(article_cache, "_l1_cards", l1)
    raw = '{"art_id": 5, "title": "t", "cover": {"type": 1, "images": ["a.jpg"]}}'
    found = await article_cache.absorb(None, None, [5], [raw])  # type: ignore[arg-type]
    assert found == {5: {"art_id": 5, "title": "t", "cover": {"type": 1, "images": ["a.jpg"]}}}
    assert gc.is_tracked(found[5])  # what the request uses is an ordinary dict ...
    gc.collect(0)
    assert not gc.is_tracked(l1[5])  # ... what the worker keeps is not scanned once collected
    first, _ = article_cache.split_l1([5])
    first[5]["cover"]["images"].append("changed.jpg")
    again, lacking = article_cache.split_l1([5])
    assert again == found and lacking == []


async def test_feed_items_are_written_from_the_entries(monkeypatch: pytest.MonkeyPatch):
    """A feed's items are written from the cards' L1 entries without decoding them: the same
    members as a presented card (less ``ch_id`` and ``allow_comm``), with the author's name,
    the comment count, ``is_top`` and the trace, whether the trace comes as the recall sources
    or as the recommender's track strings."""
    from toutiao.recommend import schemas
    from toutiao.stats import counters

    card = {
        "art_id": 5,
        "title": 'a "quoted" \\ title, 中文',
        "aut_id": 7,
        "ch_id": 3,
        "pubdate": "2026-12-01T08:00:00",
        "cover": {"type": 1, "images": ["a.jpg"]},
        "allow_comm": True,
    }
    entry = article_cache.entry_of(orjson.dumps(card).decode())
    monkeypatch.setitem(cards._l1_authors, 7, {"name": 'Ann "A"', "photo": ""})

    runtime = _one_server_runtime()

    async def counts(_runtime: Any, _need: Any, groups: Any, _extra: Any, _shared: Any):
        assert groups == {counters.ARTICLE_COMMENTS.key: [5, 5]}
        return [[4, 4]], []

    monkeypatch.setattr(cards, "_pipelines", counts)
    given = {"click": "c", "collect": "o", "share": "s", "read": "r"}
    written = await cards.render_items(
        runtime,
        None,  # type: ignore[arg-type]
        [(5, entry, "hot+recent", 0), (5, entry, given, 1)],
        uid='anon:"x"',
        channel_id=3,
    )
    items = orjson.loads(orjson.dumps(written))
    shown = {k: v for k, v in card.items() if k not in ("ch_id", "allow_comm")}
    assert items == [
        {
            **shown,
            "aut_name": 'Ann "A"',
            "comm_count": 4,
            "is_top": 0,
            "trace": schemas.tracks('anon:"x"', 5, "hot+recent", 3),
        },
        {**shown, "aut_name": 'Ann "A"', "comm_count": 4, "is_top": 1, "trace": given},
    ]
