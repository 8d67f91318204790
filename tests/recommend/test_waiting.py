"""The wait queue and the cached exclusions (recommend/waiting.py): later fresh batches come
from the queue without SQL, and every change that must hide an article still does."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import orjson
import pytest

from tests.fixtures.redis_counter import count_round_trips, nodes_of
from tests.recommend.helpers import RecoData
from toutiao.kit.db import count_queries
from toutiao.kit.pace import CpuPacer
from toutiao.models.enums import ArticleStatus, Attitude
from toutiao.recommend import events, history, keys, recall, schemas, serving, waiting
from toutiao.recommend.engine import Recommender
from toutiao.recommend.refill import refill_pending
from toutiao.runtime import Runtime

T = [1_700_000_000_000 + 60_000 * i for i in range(8)]


def ids(batch: object) -> list[int]:
    return [item.article_id for item in batch.items]  # type: ignore[attr-defined]


@pytest.fixture
def cached(runtime: Runtime) -> Recommender:
    """In-process caches on, as in production."""
    return Recommender(runtime.db, runtime.store)


async def _queued(runtime: Runtime, uid: str, channel: int) -> list[int]:
    raw = await runtime.store.zrange(keys.waiting(uid, channel), 0, -1, withscores=True)
    return [aid for aid, _ in waiting.parse_waiting(raw)]


async def _bump(runtime: Runtime, fill: object) -> None:
    async with runtime.store.pipeline(transaction=False) as pipe:
        fill(pipe)  # type: ignore[operator]
        await pipe.execute()


async def _api_read(
    runtime: Runtime, reader: serving.Reader, stamp: int
) -> tuple[serving.Reading, serving.QueueState]:
    """The API's round trip 1 share for a batch of 10, and the state it reads."""
    async with runtime.store.pipeline(transaction=False) as pipe:
        reading = serving.queue_read(pipe, reader, stamp, 10)
        results = await pipe.execute()
    assert len(results) == reading.commands
    return reading, serving.parse_state(reading, results)


@pytest.mark.parametrize("registered", [True, False])
async def test_later_fresh_batches_come_from_the_queue_without_sql(
    runtime: Runtime, data: RecoData, cached: Recommender, registered: bool
) -> None:
    (channel,) = await data.channels(1)
    author = await data.user()
    articles = await data.articles(45, author=author, channel=channel)
    uid = str(await data.user()) if registered else "anon:device-1"
    first = await cached.user_recommend(uid, channel, 10, T[1])
    assert len(first.items) == 10
    assert len(await _queued(runtime, uid, channel)) == 10 * (waiting.WAIT_BATCHES - 1)
    served = list(ids(first))
    for stamp in T[2 : 1 + waiting.WAIT_BATCHES]:
        with count_queries(runtime.db.engines()) as queries:
            batch = await cached.user_recommend(uid, channel, 10, stamp)
        assert queries.statements == []
        assert len(batch.items) == 10 and not set(ids(batch)) & set(served)
        served += ids(batch)
    assert await _queued(runtime, uid, channel) == []
    with count_queries(runtime.db.engines()) as queries:
        last = await cached.user_recommend(uid, channel, 10, T[6])
    assert queries.statements  # the queue ran dry: recall + ranking again
    unseen = set(articles) - set(served)
    assert len(ids(last)) == 10 and unseen <= set(ids(last))
    # too few unseen: the batch is topped up with the longest-ago shown, never the newest
    assert set(ids(last)) - unseen <= set(served[:10])
    # Paging back still replays exactly what each request showed.
    replay = await cached.user_recommend(uid, channel, 10, T[2])
    assert ids(replay) == served[10:20] and replay.time_stamp == T[1]
    await cached.close()


async def test_a_dislike_or_a_block_hides_queued_articles_at_once(
    runtime: Runtime, data: RecoData, cached: Recommender
) -> None:
    (channel,) = await data.channels(1)
    kind, rude = await data.user(), await data.user()
    await data.articles(20, author=kind, channel=channel)
    rude_ones = set(await data.articles(20, author=rude, channel=channel))
    user = await data.user()
    uid = str(user)
    await cached.user_recommend(uid, channel, 10, T[1])
    queued = await _queued(runtime, uid, channel)
    disliked = queued[0]
    await data.attitude(user, disliked, Attitude.DISLIKE)
    await _bump(runtime, lambda pipe: events.queue_exclusions_changed(pipe, user))
    second = await cached.user_recommend(uid, channel, 10, T[2])
    assert len(second.items) == 10 and disliked not in ids(second)
    # The rude author blocks the reader: none of the author's queued articles come back.
    await data.blacklist(rude, user)
    await _bump(runtime, lambda pipe: events.queue_exclusions_changed(pipe, rude, user))
    for stamp in T[3:6]:
        assert not set(ids(await cached.user_recommend(uid, channel, 10, stamp))) & rude_ones
    await cached.close()


async def test_exclusions_are_cached_under_the_version_they_were_read_with(
    runtime: Runtime, data: RecoData, cached: Recommender
) -> None:
    (channel,) = await data.channels(1)
    author = await data.user()
    articles = await data.articles(5, author=author, channel=channel)
    user = await data.user()
    await data.attitude(user, articles[0], Attitude.DISLIKE)
    await cached.user_recommend(str(user), channel, 10, T[1])
    raw = await runtime.store.get(keys.exclusions(str(user)))
    assert waiting.parse_exclusions(raw, "").disliked == {articles[0]}  # type: ignore[union-attr]
    await _bump(runtime, lambda pipe: events.queue_exclusions_changed(pipe, user))
    assert waiting.parse_exclusions(raw, "1") is None  # stale under the new version
    await cached.close()


async def test_a_worker_uses_the_exclusions_it_parsed_only_under_their_version(
    runtime: Runtime, data: RecoData, cached: Recommender
) -> None:
    (channel,) = await data.channels(1)
    author = await data.user()
    articles = await data.articles(30, author=author, channel=channel)
    user = await data.user()
    uid = str(user)
    await data.attitude(user, articles[0], Attitude.DISLIKE)
    await cached.user_recommend(uid, channel, 10, T[1])  # caches the copy under ""
    reader = serving.Reader(uid, channel)

    first, state = await _api_read(runtime, reader, T[2])
    assert first.held is None and first.commands == 6  # the copy is read and parsed
    assert state.exclusions is not None and state.exclusions.disliked == {articles[0]}
    second, state = await _api_read(runtime, reader, T[2])
    assert second.commands == 5 and second.held is state.exclusions  # the copy is not read
    # After a change the held ones are neither used nor kept: the recommender reloads them.
    await data.attitude(user, articles[1], Attitude.DISLIKE)
    await _bump(runtime, lambda pipe: events.queue_exclusions_changed(pipe, user))
    third, state = await _api_read(runtime, reader, T[2])
    assert third.held is not None and state.version == "1" and state.exclusions is None
    await cached.user_recommend(uid, channel, 10, T[3])
    fourth, state = await _api_read(runtime, reader, T[2])
    assert fourth.held is None and state.exclusions is not None
    assert state.exclusions.version == "1"
    assert state.exclusions.disliked == {articles[0], articles[1]}
    await cached.close()


async def test_a_withdrawn_article_leaves_the_queue_and_the_similar_list(
    runtime: Runtime, data: RecoData, cached: Recommender
) -> None:
    (channel,) = await data.channels(1)
    author = await data.user()
    articles = await data.articles(30, author=author, channel=channel)
    uid = "anon:device-2"
    await cached.user_recommend(uid, channel, 10, T[1])
    gone = (await _queued(runtime, uid, channel))[0]
    await runtime.store.zadd(keys.similar(articles[-1]), {str(gone): 0.9})
    assert await cached.similar(articles[-1], 5) == [gone]
    await data.set_status(gone, ArticleStatus.BANNED)
    await _bump(runtime, events.queue_catalog_changed)
    batch = await cached.user_recommend(uid, channel, 10, T[2])
    assert len(batch.items) == 10 and gone not in ids(batch)
    assert await cached.similar(articles[-1], 5) == []
    await cached.close()


async def test_queued_articles_shown_in_another_channel_are_skipped(
    runtime: Runtime, data: RecoData, cached: Recommender
) -> None:
    (channel,) = await data.channels(1)
    author = await data.user()
    await data.articles(40, author=author, channel=channel)
    uid = "anon:device-3"
    await cached.user_recommend(uid, channel, 10, T[1])
    queued = await _queued(runtime, uid, channel)
    elsewhere = await cached.user_recommend(uid, 0, 10, T[2])  # the recommended channel
    assert set(ids(elsewhere)) & set(queued)
    again = await cached.user_recommend(uid, channel, 10, T[3])
    assert not set(ids(again)) & set(ids(elsewhere))
    await cached.close()


async def test_the_queue_keeps_order_and_sources(runtime: Runtime) -> None:
    pairs = [(5, "hot+recent"), (3, "similar"), (9, ""), (7, "interest+keyword+recent")]
    await _bump(runtime, lambda pipe: waiting.queue_waiting(pipe, "q", 1, pairs))
    raw = await runtime.store.zrange(keys.waiting("q", 1), 0, -1, withscores=True)
    assert waiting.parse_waiting(raw) == pairs
    served = [(3, "similar")]
    await _bump(
        runtime,
        lambda pipe: waiting.queue_served(
            pipe, "q", 1, T[0], served, now_ms=T[0], unqueue={1: [3, 9]}
        ),
    )
    raw = await runtime.store.zrange(keys.waiting("q", 1), 0, -1, withscores=True)
    assert waiting.parse_waiting(raw) == [pairs[0], pairs[3]]


async def test_a_served_batch_is_recorded_by_one_command(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History (trimmed, with its TTL), shown (trimmed, with its TTL) and every queue the
    articles leave, in one command on the reader's keys."""
    monkeypatch.setattr(history, "MAX_BATCHES", 2)
    monkeypatch.setattr(waiting, "SHOWN_CAP", 3)
    uid, store = "7", runtime.store
    await _bump(
        runtime, lambda pipe: waiting.queue_waiting(pipe, uid, 0, [(1, ""), (2, ""), (8, "")])
    )
    await _bump(runtime, lambda pipe: waiting.queue_waiting(pipe, uid, 4, [(1, ""), (5, "")]))
    await _bump(runtime, lambda pipe: waiting.queue_waiting(pipe, uid, 6, [(2, ""), (6, "")]))
    batches = [[(1, "hot"), (2, "recent")], [(5, "hot")], [(6, "recent"), (9, "")]]
    for i, batch in enumerate(batches):
        unqueue = waiting.elsewhere(0, {1: 4, 2: 6}) if i == 0 else {}
        unqueue[0] = [1, 2]
        async with store.pipeline(transaction=False) as pipe:
            waiting.queue_served(pipe, uid, 0, T[i], batch, now_ms=T[i] + 0.5, unqueue=unqueue)
            assert len(pipe) == 1
            await pipe.execute()
    his = await store.zrange(keys.history(uid, 0), 0, -1, withscores=True)
    assert [int(score) for _, score in his] == T[1:3]  # the oldest trimmed
    assert history.parse_position(his[::-1], his[::-1][:1]).batch == batches[2]
    assert await store.ttl(keys.history(uid, 0)) > history.HISTORY_TTL - 60
    shown = await store.zrange(keys.shown(uid), 0, -1, withscores=True)
    assert shown == [("5", T[1] + 0.5), ("6", T[2] + 0.5), ("9", T[2] + 0.5)]
    assert await store.ttl(keys.shown(uid)) > waiting.SHOWN_TTL - 60
    assert await _queued(runtime, uid, 0) == [8]
    assert await _queued(runtime, uid, 4) == [5]
    assert await _queued(runtime, uid, 6) == [6]


async def test_a_heavy_disliker_keeps_the_newest_articles_dislikes(
    runtime: Runtime, data: RecoData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exclusions read a bounded number of dislikes: those of the newest articles."""
    monkeypatch.setattr(recall, "FILTER_ROWS", 2)
    (channel,) = await data.channels(1)
    author = await data.user()
    articles = await data.articles(4, author=author, channel=channel)
    user = await data.user()
    for article in articles:
        await data.attitude(user, article, Attitude.DISLIKE)
    async with runtime.db.read_session() as session:
        with count_queries(runtime.db.engines()) as queries:
            disliked, blocked, complete = await recall.exclusions(session, user)
    assert disliked == set(sorted(articles)[-2:]) and blocked == set() and not complete
    assert queries.rows <= 2 * recall.FILTER_ROWS


async def test_a_queue_checked_under_an_older_version_is_checked_again(
    runtime: Runtime, data: RecoData, cached: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader with more dislikes than the cached copy holds: the copy is reloaded (by a
    request in another channel) under the version a new dislike set, but the queue of this
    channel was checked under the old one. Neither the API nor the recommender serves it
    unchecked: the recommender checks it again against the database."""
    monkeypatch.setattr(recall, "FILTER_ROWS", 2)
    (channel,) = await data.channels(1)
    author = await data.user()
    articles = await data.articles(40, author=author, channel=channel)
    user = await data.user()
    uid = str(user)
    newest = await data.articles(2, author=author, channel=channel)
    for article in newest:  # the copy holds these two (the newest ids): it is full
        await data.attitude(user, article, Attitude.DISLIKE)
    await cached.user_recommend(uid, channel, 10, T[1])
    raw = await runtime.store.zrange(keys.waiting(uid, channel), 0, -1, withscores=True)
    assert waiting.parse_checked(raw) == ""
    head = waiting.parse_waiting(raw)[0][0]
    assert head in articles and head < min(newest)  # an older id: not in the cached part
    await data.attitude(user, head, Attitude.DISLIKE)
    await _bump(runtime, lambda pipe: events.queue_exclusions_changed(pipe, user))
    await cached.user_recommend(uid, 0, 10, T[2])  # reloads the copy under version "1"
    copy = waiting.parse_exclusions(await runtime.store.get(keys.exclusions(uid)), "1")
    assert copy is not None and not copy.complete and head not in copy.disliked

    # the API's check: the queue was not checked under "1", so it asks the recommender
    reader = serving.Reader(uid, channel)
    _, state = await _api_read(runtime, reader, T[3])
    assert state.checked == "" and state.exclusions is not None
    facts = {a: (author, channel) for a, _ in state.waiting}
    assert serving.choose(state, reader, 10, pinned=(), facts=facts, visible=()) is None

    batch = await cached.user_recommend(uid, channel, 10, T[3])
    assert len(ids(batch)) == 10 and head not in ids(batch)
    raw = await runtime.store.zrange(keys.waiting(uid, channel), 0, -1, withscores=True)
    assert waiting.parse_checked(raw) == "1" and head not in dict(waiting.parse_waiting(raw))
    await cached.close()


async def test_an_append_checked_under_a_replaced_tag_is_dropped(runtime: Runtime) -> None:
    """A refill appends only to the queue it read: one a newer check replaced meanwhile
    keeps only what that check vouched for."""
    await _bump(runtime, lambda pipe: waiting.queue_waiting(pipe, "7", 1, [(5, "hot")], "1"))
    await _bump(runtime, lambda pipe: waiting.queue_append(pipe, "7", 1, [(6, "hot")], 0, "1"))
    await _bump(runtime, lambda pipe: waiting.queue_waiting(pipe, "7", 1, [(8, "hot")], "2"))
    await _bump(runtime, lambda pipe: waiting.queue_append(pipe, "7", 1, [(9, "hot")], 0, "1"))
    raw = await runtime.store.zrange(keys.waiting("7", 1), 0, -1, withscores=True)
    assert [a for a, _ in waiting.parse_waiting(raw)] == [8]
    assert waiting.parse_checked(raw) == "2"
    await _bump(runtime, lambda pipe: waiting.queue_append(pipe, "a", 1, [(9, "hot")], -1))
    raw = await runtime.store.zrange(keys.waiting("a", 1), 0, -1, withscores=True)
    assert [a for a, _ in waiting.parse_waiting(raw)] == [9] and waiting.parse_checked(raw) is None


async def test_a_refill_reaches_one_node_for_the_readers_keys(
    runtime: Runtime, data: RecoData, recommender: Recommender
) -> None:
    """Every round trip of a refill sends the reader's keys to one node (their hash tag);
    on a cluster the rest (pinned list, catalog, popularity, features) goes where it lives."""
    (channel,) = await data.channels(1)
    author, reader = await data.user(), await data.user()
    await data.articles(90, author=author, channel=channel)
    uid = str(reader)
    assert len(ids(await recommender.user_recommend(uid, channel, 10, T[0]))) == 10
    with count_round_trips(runtime.store) as trips:
        added = await recommender.refill(uid, channel, 20)
    assert added > 0
    per_trip = [[a for a in sent if keys.is_reader_key(a)] for sent in trips.sent]
    # state and profile; the shown filter; the append (recall and features read no reader key)
    assert trips.count <= 5 and sum(1 for names in per_trip if names) == 3, trips.calls
    assert all(len(nodes_of(runtime.store, names)) <= 1 for names in per_trip), trips.calls
    assert len(nodes_of(runtime.store, [n for names in per_trip for n in names])) == 1


async def test_a_refill_short_of_candidates_reads_the_shown_set_once(
    runtime: Runtime, data: RecoData, recommender: Recommender
) -> None:
    """Recall found fewer articles than the refill wants: the channel's older articles are
    dug at once and checked with the rest in one read of what the reader was shown."""
    (channel,) = await data.channels(1)
    author, reader = await data.user(), await data.user()
    await data.articles(recall.RECENT_PER_CHANNEL + 60, author=author, channel=channel)
    uid = str(reader)
    shown = set(ids(await recommender.user_recommend(uid, channel, 10, T[0])))
    with count_round_trips(runtime.store) as trips:
        added = await recommender.refill(uid, channel, 20)
    assert trips.calls.count("ZMSCORE") == 1, trips.calls
    raw = await runtime.store.zrange(keys.waiting(uid, channel), 0, -1, withscores=True)
    queued = [a for a, _ in waiting.parse_waiting(raw)]
    unseen = [a for a in queued if a not in shown]
    # past the recent list; what the reader was shown comes only after every unseen article
    # (the refill found all there is: a ring, see test_a_ring_sends_a_served_batch_to_its_tail)
    assert added > 0 and len(unseen) > recall.RECENT_PER_CHANNEL
    assert queued[: len(unseen)] == unseen and waiting.parse_ring(raw)


async def test_the_api_reads_the_queue_head_and_its_size(runtime: Runtime) -> None:
    """A fresh batch reads only the head it checks (two batches), yet knows how many wait
    behind it: the refill request depends on what is left."""
    queued = [(1000 + i, "hot") for i in range(50)]
    await _bump(
        runtime,
        lambda pipe: waiting.queue_waiting(pipe, "anon:h", 3, queued, "4", ranked_at_ms=T[0]),
    )
    reader = serving.Reader("anon:h", 3)
    _, state = await _api_read(runtime, reader, T[1])
    assert state.checked == "4" and state.size == 50 and state.ranked_at == T[0]
    # the head, and at most one article per tag the queue lacks (a tag's place is read anyway)
    head = 10 * serving.HEAD
    assert state.waiting == queued[: head + waiting.TAGS - 2]
    facts = {a: (1, 3) for a, _ in state.waiting if a % 2}  # every other one is servable
    served = serving.choose(state, reader, 5, pinned=(), facts=facts, visible=())
    assert served is not None and [a for a, _ in served.batch] == [1001, 1003, 1005, 1007, 1009]
    assert served.left == 50 - len(served.scanned) == 40


async def _refill_requests(runtime: Runtime) -> list[str]:
    return [str(r) for r in await runtime.store.lrange(keys.REFILL, 0, -1)]


@pytest.mark.parametrize("age", [waiting.MAX_AGE - 5, waiting.MAX_AGE + 5])
async def test_the_api_asks_for_a_queue_ranked_long_ago_to_be_ranked_again(
    runtime: Runtime, age: float
) -> None:
    """A queue far from running low still gets a refill request once its front was ranked
    more than MAX_AGE ago: what was published since must not wait behind it."""
    now_ms = time.time() * 1000
    queued = [(3000 + i, "hot") for i in range(100)]
    await _bump(
        runtime,
        lambda pipe: waiting.queue_waiting(
            pipe, "anon:s", 3, queued, ranked_at_ms=now_ms - age * 1000
        ),
    )
    reader = serving.Reader("anon:s", 3)
    _, state = await _api_read(runtime, reader, T[1])
    served = serving.choose(
        state, reader, 10, pinned=(), facts=dict.fromkeys(range(3000, 3100), (1, 3)), visible=()
    )
    assert served is not None and served.left == 90
    async with runtime.store.pipeline(transaction=False) as pipe:
        serving.queue_record(pipe, reader, T[1], served, channel_of={}, now_ms=now_ms, count=10)
        await pipe.execute()
    stale = age > waiting.MAX_AGE
    assert await _refill_requests(runtime) == (["3 10 anon:s"] if stale else [])


async def test_a_queue_ranked_long_ago_is_ranked_again_as_a_whole(
    runtime: Runtime, data: RecoData
) -> None:
    """A refill of a queue that is not low leaves it alone until its front was ranked more
    than MAX_AGE ago; then, when an article was published in the channel since, it ranks the
    queue again as a whole; with nothing new it only moves the queue's ranked time."""
    (channel,) = await data.channels(1)
    author = await data.user()
    await data.articles(60, author=author, channel=channel, age=timedelta(hours=3))
    now = [time.time() - 3600]  # the reader's first pull, an hour ago
    recommender = Recommender(runtime.db, runtime.store, clock=lambda: now[0], recent_ttl=0)
    uid = "anon:stale-queue"

    async def ranked_at() -> float | None:
        raw = await runtime.store.zrange(keys.waiting(uid, channel), 0, 1, withscores=True)
        return waiting.parse_ranked_at(raw)

    assert len(ids(await recommender.user_recommend(uid, channel, 10, T[1]))) == 10
    before = await _queued(runtime, uid, channel)
    assert len(before) == 10 * (waiting.WAIT_BATCHES - 1)  # not low: no refill due
    assert await ranked_at() == now[0] * 1000
    now[0] += waiting.MAX_AGE + 1  # old, but nothing was published since
    assert await recommender.refill(uid, channel, 10) == 0
    assert await _queued(runtime, uid, channel) == before and await ranked_at() == now[0] * 1000
    new = await data.article(author=author, channel=channel, age=timedelta(seconds=1))
    now[0] += waiting.MAX_AGE - 1
    assert await recommender.refill(uid, channel, 10) == 0
    assert await _queued(runtime, uid, channel) == before
    now[0] += 2
    written = await recommender.refill(uid, channel, 10)
    after = await _queued(runtime, uid, channel)
    assert written == len(after) > len(before) and new in after and set(before) <= set(after)
    assert await ranked_at() == now[0] * 1000
    # ranked again just now: a later refill request finds nothing to do
    assert await recommender.refill(uid, channel, 10) == 0
    await recommender.close()


@pytest.mark.parametrize("ring", [True, False])
async def test_a_ring_sends_a_served_batch_to_its_tail(runtime: Runtime, ring: bool) -> None:
    """A batch served from a ring goes back to its tail with its sources (the queue keeps its
    length and its TTL starts again: no refill is asked for); a plain queue loses it. Either
    way an article no longer servable leaves."""
    queued = [(5000 + i, "hot" if i % 2 else "recent+similar") for i in range(40)]
    uid = f"anon:ring-{ring}"
    now_ms = time.time() * 1000
    await _bump(
        runtime,
        lambda pipe: waiting.queue_waiting(pipe, uid, 3, queued, ranked_at_ms=now_ms, ring=ring),
    )
    await runtime.store.expire(keys.waiting(uid, 3), 30)
    reader = serving.Reader(uid, 3)
    _, state = await _api_read(runtime, reader, T[1])
    assert state.ring is ring and state.size == 40 and state.ranked_at == now_ms
    facts = {a: (1, 3) for a, _ in queued if a != 5001}  # 5001 was withdrawn
    served = serving.choose(state, reader, 10, pinned=(), facts=facts, visible=())
    assert served is not None and served.batch == [queued[0], *queued[2:11]]
    assert served.left == (39 if ring else 29)
    async with runtime.store.pipeline(transaction=False) as pipe:
        serving.queue_record(pipe, reader, T[1], served, channel_of={}, now_ms=now_ms, count=10)
        await pipe.execute()
    raw = await runtime.store.zrange(keys.waiting(uid, 3), 0, -1, withscores=True)
    rest = queued[11:]
    assert waiting.parse_waiting(raw) == ([*rest, *served.batch] if ring else rest)
    assert waiting.parse_ring(raw) is ring and waiting.parse_ranked_at(raw) == now_ms
    assert (await runtime.store.ttl(keys.waiting(uid, 3)) > 60) is ring
    assert await _refill_requests(runtime) == ([] if ring else [f"3 10 {uid}"])


@pytest.mark.parametrize("size", [39, 40])
async def test_a_ring_holds_a_batch_more_than_the_newest_batches(
    runtime: Runtime, data: RecoData, recommender: Recommender, size: int
) -> None:
    """A queue of every article there is becomes a ring only when a batch sent to its tail
    comes round after the newest batches (those are never shown again)."""
    (channel,) = await data.channels(1)
    articles = await data.articles(size, author=await data.user(), channel=channel)
    uid = f"anon:small-{size}"
    assert await recommender.refill(uid, channel, 10) == size
    raw = await runtime.store.zrange(keys.waiting(uid, channel), 0, -1, withscores=True)
    assert sorted(a for a, _ in waiting.parse_waiting(raw)) == sorted(articles)
    assert waiting.parse_ring(raw) is (size >= (history.RECENT_BATCHES + 1) * 10)


async def _api_pull(
    runtime: Runtime, reader: serving.Reader, stamp: int, now_ms: float, facts: serving.Facts
) -> list[int] | None:
    """A fresh batch as the API serves it from the queue (None: too few queued)."""
    _, state = await _api_read(runtime, reader, stamp)
    served = serving.choose(state, reader, 10, pinned=(), facts=facts, visible=())
    if served is None:
        return None
    async with runtime.store.pipeline(transaction=False) as pipe:
        serving.queue_record(pipe, reader, stamp, served, channel_of={}, now_ms=now_ms, count=10)
        await pipe.execute()
    return [a for a, _ in served.batch]


async def test_a_reader_who_read_a_channel_through_cycles_it_without_refills(
    runtime: Runtime, data: RecoData
) -> None:
    """Once a ranking finds every article of the channel, the queue becomes a ring over all
    of them, the unseen first: each pull is served from it with no refill, nothing comes back
    within the newest batches, and each article comes round once per turn, in the same order.
    An article published later still reaches the reader within MAX_AGE."""
    (channel,) = await data.channels(1)
    author = await data.user()
    articles = await data.articles(80, author=author, channel=channel, age=timedelta(hours=3))
    facts = dict.fromkeys(articles, (author, channel))
    now = [time.time() - 3600]  # the reader's first pull, an hour ago
    recommender = Recommender(runtime.db, runtime.store, clock=lambda: now[0], recent_ttl=0)
    uid = "anon:reads-it-all"
    reader = serving.Reader(uid, channel)
    batches = [ids(await recommender.user_recommend(uid, channel, 10, T[0]))]
    refills, rings = [0], [False]
    for pull in range(1, 30):
        now[0] += 1
        batch = await _api_pull(runtime, reader, T[0] + pull, now[0] * 1000, facts)
        assert batch is not None and len(batch) == 10, pull  # every pull from the queue
        batches.append(batch)
        refills.append(await refill_pending(recommender, runtime.store))
        raw = await runtime.store.zrange(keys.waiting(uid, channel), 0, -1, withscores=True)
        rings.append(waiting.parse_ring(raw))
    shown = [a for batch in batches for a in batch]
    assert sorted(shown[:80]) == sorted(articles)  # all unseen ones before any came back
    for i, batch in enumerate(batches):  # nothing from the newest batches
        assert not set(batch) & {a for b in batches[max(i - 3, 0) : i] for a in b}, i
    ring_at = rings.index(True)  # the refill after this pull made the ring
    assert all(rings[ring_at:]) and not any(refills[ring_at + 1 :]), (rings, refills)
    raw = await runtime.store.zrange(keys.waiting(uid, channel), 0, -1, withscores=True)
    assert sorted(a for a, _ in waiting.parse_waiting(raw)) == sorted(articles)
    turn = len(articles) // 10
    for i in range(ring_at + 1, len(batches) - turn):
        assert batches[i + turn] == batches[i], i
    new = await data.article(author=author, channel=channel, age=timedelta(seconds=1))
    facts[new] = (author, channel)
    now[0] += waiting.MAX_AGE + 1
    await _api_pull(runtime, reader, T[0] + 100, now[0] * 1000, facts)  # asks to rank again
    assert await refill_pending(recommender, runtime.store) == 1
    assert new in (await _api_pull(runtime, reader, T[0] + 101, now[0] * 1000, facts) or [])
    await recommender.close()


async def _request_refills(runtime: Runtime, uids: list[str]) -> None:
    """Refill requests for these readers' queues of channel 3, in this order (as the API
    pushes them)."""
    async with runtime.store.pipeline(transaction=False) as pipe:
        for uid in uids:
            waiting.queue_refill_request(pipe, waiting.RefillRequest(uid, 3, 10))
        await pipe.execute()


async def test_refill_requests_are_served_newest_first(runtime: Runtime) -> None:
    """A reader pulling now comes before a backlog of older requests (duplicates served once)."""
    served: list[str] = []

    class Recorder:
        async def refill(self, uid: str, channel_id: int, count: int) -> int:
            served.append(f"{uid}/{channel_id}")
            return 0

    await _request_refills(runtime, ["old", "older-dup", "old", "new"])
    assert await refill_pending(Recorder(), runtime.store, chunk=1) == 1
    assert served == ["new/3"]
    assert await refill_pending(Recorder(), runtime.store, chunk=10) == 3
    assert served == ["new/3", "old/3", "older-dup/3"]


async def test_refills_run_a_few_at_a_time(runtime: Runtime) -> None:
    """Refills overlap their waits on Redis and the database, up to the limit, and a failing
    one does not stop the rest."""
    running, most, started, done = 0, 0, [], []

    class Slow:
        async def refill(self, uid: str, channel_id: int, count: int) -> int:
            nonlocal running, most
            started.append(uid)
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1
            if uid == "u3":
                raise RuntimeError("this reader's refill fails")
            done.append(uid)
            return 1

    await _request_refills(runtime, [f"u{i}" for i in range(10)])
    assert await refill_pending(Slow(), runtime.store, chunk=10, concurrency=3) == 10
    assert most == 3
    assert started == [f"u{i}" for i in range(9, -1, -1)]  # newest first
    assert sorted(done) == sorted(f"u{i}" for i in range(10) if i != 3)


async def test_a_chunk_of_refills_is_paced_to_the_share_of_a_core(runtime: Runtime) -> None:
    """Refills that keep a core busy wait between them: the chunk's CPU is at most half a core
    (the API shares the machine), and every refill still runs."""
    cpu, wall, done = [0.0], [0.0], []

    async def sleep(seconds: float) -> None:
        wall[0] += seconds

    pacer = CpuPacer(0.5, 0.010, cpu=lambda: cpu[0], clock=lambda: wall[0], sleep=sleep)

    class Busy:
        async def refill(self, uid: str, channel_id: int, count: int) -> int:
            cpu[0] += 0.006  # ranking: 6 ms of CPU each, back to back
            wall[0] += 0.006
            done.append(uid)
            return 1

    await _request_refills(runtime, [f"u{i}" for i in range(20)])
    assert await refill_pending(Busy(), runtime.store, chunk=20, pacer=pacer) == 20
    assert len(done) == 20
    assert pacer.waited >= 0.09  # of 120 ms of CPU, nearly as long again waiting
    assert cpu[0] / wall[0] <= 0.55


@pytest.mark.parametrize(
    "raw", ["", "not json", "[1, 2]", '{"v": "", "a": [1]}', '{"v": "", "a": ["x"], "u": []}']
)
def test_an_exclusions_copy_not_as_written_is_no_copy(raw: str) -> None:
    """Anything but the object ``queue_exclusions`` writes reads as missing (the recommender
    loads and caches them again), never as an error of the feed request."""
    assert waiting.parse_exclusions(raw, "") is None


@pytest.mark.parametrize("uid", ["anon:dev-1", "42", 'anon:"quoted" \\ 中文 %s\n', ""])
@pytest.mark.parametrize("sources", ["recent", "hot+cf", "", 'odd "label" %d'])
def test_a_written_trace_is_the_encoded_tracks(uid: str, sources: str) -> None:
    """The feed writes each item's trace as bytes: exactly what encoding the four track
    strings would give, whatever the reader's id or the sources hold."""
    for channel_id in (0, 17):
        written = schemas.TraceWriter(uid, channel_id).json(123, sources)
        assert written == orjson.dumps(schemas.tracks(uid, 123, sources, channel_id))


@pytest.mark.parametrize(
    ("raw", "pairs"),
    [
        ([["a", 1.0], ["b", -2.0]], [["a", 1.0], ["b", -2.0]]),  # RESP3: pairs as sent
        (["a", "1", "b", "-2"], [("a", 1.0), ("b", -2.0)]),  # RESP2: one flat list
        ([], []),
    ],
)
def test_a_scored_read_pairs_either_protocol(raw: list[Any], pairs: list[Any]) -> None:
    assert history.scored(raw) == pairs
