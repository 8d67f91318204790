from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.recommend.helpers import RecoData
from toutiao.article.cache import article_changed
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus, Attitude
from toutiao.recommend import keys, recall
from toutiao.recommend.engine import RESHOW_AFTER, Recommender
from toutiao.recommend.events import append_event, fold_events
from toutiao.recommend.meta import MetaCache
from toutiao.runtime import Runtime

T1, T2, T3, T4 = 1_700_000_000_000, 1_700_000_060_000, 1_700_000_120_000, 1_700_000_180_000


def ids(batch: object) -> list[int]:
    return [item.article_id for item in batch.items]  # type: ignore[attr-defined]


async def _channel_with_articles(data: RecoData, count: int) -> tuple[int, int, list[int]]:
    (channel,) = await data.channels(1)
    author = await data.user()
    return channel, author, await data.articles(count, author=author, channel=channel)


class TestTimestampPaging:
    async def test_fresh_batches_exclude_what_was_shown(
        self, data: RecoData, recommender: Recommender
    ) -> None:
        channel, _, _ = await _channel_with_articles(data, 25)
        user = str(await data.user())
        first = await recommender.user_recommend(user, channel, 10, T1)
        second = await recommender.user_recommend(user, channel, 10, T2)
        assert len(first.items) == 10 and len(second.items) == 10
        assert not set(ids(first)) & set(ids(second))
        assert (first.time_stamp, second.time_stamp) == (0, T1)
        assert first.exposure and second.exposure

    async def test_replays_return_the_same_batches_down_to_zero(
        self, data: RecoData, recommender: Recommender
    ) -> None:
        channel, _, _ = await _channel_with_articles(data, 40)
        user = str(await data.user())
        fresh = [await recommender.user_recommend(user, channel, 10, t) for t in (T1, T2, T3)]
        assert [b.time_stamp for b in fresh] == [0, T1, T2]

        back = await recommender.user_recommend(user, channel, 10, T2)
        assert ids(back) == ids(fresh[1]) and back.time_stamp == T1 and back.exposure == ""
        assert [i.track for i in back.items] == [i.track for i in fresh[1].items]
        oldest = await recommender.user_recommend(user, channel, 10, T1)
        assert ids(oldest) == ids(fresh[0]) and oldest.time_stamp == 0
        between = await recommender.user_recommend(user, channel, 10, T2 + 5)
        assert ids(between) == ids(fresh[1]) and between.time_stamp == T1
        before_all = await recommender.user_recommend(user, channel, 10, T1 - 1)
        assert before_all.items == [] and before_all.time_stamp == 0

        newer = await recommender.user_recommend(user, channel, 10, T4)
        assert newer.time_stamp == T3 and newer.exposure

    async def test_history_is_per_channel(self, data: RecoData, recommender: Recommender) -> None:
        a, b = await data.channels(2)
        author = await data.user()
        await data.articles(12, author=author, channel=a)
        await data.articles(12, author=author, channel=b)
        user = str(await data.user())
        await recommender.user_recommend(user, a, 10, T1)
        other = await recommender.user_recommend(user, b, 10, T2)
        assert other.time_stamp == 0

    async def test_anonymous_without_id_gets_a_batch_and_leaves_no_state(
        self, runtime: Runtime, data: RecoData, recommender: Recommender
    ) -> None:
        channel, _, _ = await _channel_with_articles(data, 12)
        batch = await recommender.user_recommend("", channel, 10, T1)
        assert len(batch.items) == 10 and batch.time_stamp == 0
        again = await recommender.user_recommend("", channel, 10, T1 - 5)
        assert len(again.items) == 10 and again.time_stamp == 0
        assert [k async for k in runtime.store.scan_iter(match="reco:user:*")] == []

    async def test_device_ids_have_history_too(
        self, data: RecoData, recommender: Recommender
    ) -> None:
        channel, _, _ = await _channel_with_articles(data, 25)
        device = "c6f0a1b2-device"
        first = await recommender.user_recommend(device, channel, 10, T1)
        second = await recommender.user_recommend(device, channel, 10, T2)
        assert second.time_stamp == T1 and not set(ids(first)) & set(ids(second))

    async def test_shown_articles_come_back_only_when_nothing_else_is_left(
        self, data: RecoData, runtime: Runtime
    ) -> None:
        channel, _, articles = await _channel_with_articles(data, 12)
        now = [1_800_000_000.0]
        recommender = Recommender(runtime.db, runtime.store, clock=lambda: now[0], recent_ttl=0)
        user = str(await data.user())
        first = await recommender.user_recommend(user, channel, 10, T1)
        second = await recommender.user_recommend(user, channel, 10, T2)
        assert len(second.items) == 2
        assert set(ids(first)) | set(ids(second)) == set(articles)
        now[0] += RESHOW_AFTER + 60
        third = await recommender.user_recommend(user, channel, 10, T3)
        assert len(third.items) == 10

    @pytest.mark.parametrize("channel_zero", [False, True])
    async def test_a_heavy_reader_digs_past_the_recent_list(
        self, runtime: Runtime, data: RecoData, monkeypatch: pytest.MonkeyPatch, channel_zero: bool
    ) -> None:
        monkeypatch.setattr(recall, "RECENT_PER_CHANNEL", 8)
        monkeypatch.setattr(recall, "RECENT_ALL", 8)
        monkeypatch.setattr(recall, "MAX_DEPTH", 8)
        recommender = Recommender(runtime.db, runtime.store, recent_ttl=0)
        channel, _, articles = await _channel_with_articles(data, 30)
        asked = 0 if channel_zero else channel
        seen: list[int] = []
        for stamp in (T1, T2, T3, T4):
            seen += ids(await recommender.user_recommend("reader", asked, 10, stamp))
        assert len(seen) == len(set(seen)) == 30
        assert set(seen) == set(articles)


class TestFilters:
    async def test_disliked_and_blacklisted_authors_never_appear(
        self, data: RecoData, recommender: Recommender
    ) -> None:
        (channel,) = await data.channels(1)
        reader, blocked, blocker, fine = [await data.user() for _ in range(4)]
        by_blocked = await data.articles(5, author=blocked, channel=channel)
        by_blocker = await data.articles(5, author=blocker, channel=channel)
        by_fine = await data.articles(8, author=fine, channel=channel)
        await data.blacklist(reader, blocked)  # reader blocks an author
        await data.blacklist(blocker, reader)  # an author blocks the reader
        await data.attitude(reader, by_fine[0], Attitude.DISLIKE)
        await data.attitude(reader, by_fine[1], Attitude.LIKE)

        seen: set[int] = set()
        for stamp in (T1, T2, T3):
            seen |= set(ids(await recommender.user_recommend(str(reader), channel, 50, stamp)))
        assert seen == set(by_fine) - {by_fine[0]}
        everyone = await recommender.user_recommend("anon-1", channel, 50, T1)
        assert set(ids(everyone)) == {*by_blocked, *by_blocker, *by_fine}

    async def test_articles_that_are_not_approved_never_appear(
        self, runtime: Runtime, data: RecoData, recommender: Recommender
    ) -> None:
        channel, author, approved = await _channel_with_articles(data, 3)
        hidden = [
            await data.article(author=author, channel=channel, status=status)
            for status in ArticleStatus
            if status != ArticleStatus.APPROVED
        ]
        banned = await data.article(author=author, channel=channel)
        await data.set_status(banned, ArticleStatus.BANNED)
        # Make every hidden article look hot and similar to what the user engaged with.
        members = {str(a): 100.0 for a in [*hidden, banned]}
        await runtime.store.zadd(keys.HOT, members)
        await runtime.store.zadd(keys.channel_hot(channel), members)
        await runtime.store.zadd(keys.similar(approved[0]), members)
        await runtime.store.zadd(keys.positives("42"), {str(approved[0]): 1.0})
        for user in ("42", "anon", ""):
            batch = await recommender.user_recommend(user, channel, 50, T1)
            assert set(ids(batch)) == set(approved)
        for user in ("43", "anon-2", ""):
            batch = await recommender.user_recommend(user, 0, 50, T2)
            assert set(ids(batch)) == set(approved)
        assert await recommender.similar(approved[0], 10) == []

    async def test_an_article_banned_after_it_was_cached_is_not_served(
        self, runtime: Runtime, data: RecoData
    ) -> None:
        recommender = Recommender(runtime.db, runtime.store)  # in-process caches on
        channel, _, articles = await _channel_with_articles(data, 5)
        assert set(ids(await recommender.user_recommend("", channel, 5, T1))) == set(articles)
        await data.set_status(articles[0], ArticleStatus.BANNED)
        served = await recommender.user_recommend("", channel, 5, T2)
        assert set(ids(served)) == set(articles)  # nobody said so: cached for up to 5 minutes
        await article_changed(runtime.cache, runtime.store, articles[0])  # what mp / mis call
        again = await recommender.user_recommend("", channel, 5, T3)
        assert set(ids(again)) == set(articles[1:])
        await recommender.close()

    async def test_channel_filter_and_channel_zero(
        self, data: RecoData, recommender: Recommender
    ) -> None:
        a, b, hidden = await data.channels(3, hidden=1)
        author = await data.user()
        in_a = await data.articles(6, author=author, channel=a)
        in_b = await data.articles(6, author=author, channel=b)
        in_hidden = await data.articles(6, author=author, channel=hidden)
        assert set(ids(await recommender.user_recommend("u-a", a, 50, T1))) == set(in_a)
        assert set(ids(await recommender.user_recommend("u-b", b, 50, T1))) == set(in_b)
        everything = set(ids(await recommender.user_recommend("u-0", 0, 50, T1)))
        assert everything == {*in_a, *in_b}
        assert not everything & set(in_hidden)

    async def test_pinned_articles_are_left_to_the_feed(
        self, runtime: Runtime, data: RecoData, recommender: Recommender
    ) -> None:
        channel, _, articles = await _channel_with_articles(data, 6)
        await runtime.store.zadd(keys.pinned(channel), {str(articles[0]): 1})
        assert articles[0] not in ids(await recommender.user_recommend("u", channel, 50, T1))

    async def test_history_keeps_the_newest_batches(
        self, runtime: Runtime, data: RecoData, recommender: Recommender
    ) -> None:
        from toutiao.recommend.history import MAX_BATCHES

        channel, _, _ = await _channel_with_articles(data, MAX_BATCHES + 5)
        stamps = [T1 + 1000 * i for i in range(MAX_BATCHES + 3)]
        served = [ids(await recommender.user_recommend("h", channel, 1, t)) for t in stamps]
        assert await runtime.store.zcard(keys.history("h", channel)) == MAX_BATCHES
        oldest_kept = stamps[3]
        replay = await recommender.user_recommend("h", channel, 1, oldest_kept)
        assert ids(replay) == served[3] and replay.time_stamp == 0
        assert ids(await recommender.user_recommend("h", channel, 1, stamps[2])) == []
        newest = await recommender.user_recommend("h", channel, 1, stamps[-1])
        assert ids(newest) == served[-1] and newest.time_stamp == stamps[-2]


class TestCaching:
    async def test_new_articles_show_up_once_the_recent_list_expires(
        self, runtime: Runtime, data: RecoData
    ) -> None:
        recommender = Recommender(runtime.db, runtime.store, recent_ttl=0.05)
        channel, author, articles = await _channel_with_articles(data, 3)
        assert len((await recommender.user_recommend("", channel, 10, T1)).items) == 3
        new = await data.article(author=author, channel=channel, age=timedelta(minutes=1))
        await asyncio.sleep(0.1)
        stale = await recommender.user_recommend("", channel, 10, T1)  # reload starts
        assert new not in ids(stale)
        for _ in range(50):
            await asyncio.sleep(0.02)
            if new in ids(await recommender.user_recommend("", channel, 10, T1)):
                break
        else:
            pytest.fail("the recent list was not reloaded")
        await recommender.close()

    async def test_what_the_caches_hold_costs_the_collector_nothing(
        self, runtime: Runtime, data: RecoData, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """At 100,000 articles the caches hold tens of thousands of entries; a full collection
        in the recommender must not have to scan them."""
        monkeypatch.setattr(recall, "RECENT_PER_CHANNEL", 8)
        monkeypatch.setattr(recall, "MAX_DEPTH", 8)
        recommender = Recommender(runtime.db, runtime.store, recent_ttl=60)
        channel, _, articles = await _channel_with_articles(data, 30)
        for stamp in (T1, T2, T3):
            await recommender.user_recommend("reader", channel, 10, stamp)
        caches = {
            "meta": recommender._meta._items,
            "recent": recommender._recent._rows,
            "older": recommender._older,
            "features": recommender._features,
        }
        assert len(recommender._meta._items) == len(articles)
        assert all(len(cache) for cache in caches.values())
        # A collection untracks a tuple whose items are untracked when it reaches it, and it
        # may reach an outer tuple before its inner ones: at worst one level a collection
        # (a channel's recent list nests four deep; the metadata entries are flat).
        for _ in range(4):
            gc.collect()
        for name, cache in caches.items():
            assert _tracked_inside(cache) == [], name
        await recommender.close()


def test_a_metadata_entry_is_untracked_by_the_first_young_collection() -> None:
    """The metadata cache is the largest (up to 50,000 entries for five minutes): its entries
    must leave the collector's lists at once, not one nesting level per full collection."""
    cache = MetaCache()
    cache.put(1, (7, 3, 1_700_000_000.0))
    cache.put(2, None)
    gc.collect(0)
    assert not any(gc.is_tracked(entry) for entry in cache._items.values())
    assert cache.lookup([1, 2, 3]) == ({1: (7, 3, 1_700_000_000.0)}, [3])


def _tracked_inside(cache: Mapping[Any, Any]) -> list[object]:
    """The objects the garbage collector tracks among the keys and values of ``cache``,
    however deep."""
    found: list[object] = []
    stack = [*cache.keys(), *cache.values()]
    while stack:
        item = stack.pop()
        if gc.is_tracked(item):
            found.append(item)
            stack.extend(gc.get_referents(item))
    return found


class TestRanking:
    async def test_liked_channels_get_more_room_than_for_an_anonymous_reader(
        self, runtime: Runtime, data: RecoData, recommender: Recommender
    ) -> None:
        channels = await data.channels(4)
        author = await data.user()
        by_channel = {
            c: await data.articles(15, author=author, channel=c, age=timedelta(hours=i + 1))
            for i, c in enumerate(channels)
        }
        favourite = channels[-1]  # the oldest articles: recency alone would not favour it
        reader = await data.user()
        for article_id in by_channel[favourite][:3]:
            await append_event(
                runtime.store, action="like", user_id=str(reader), article_id=article_id
            )
            await append_event(
                runtime.store, action="collect", user_id=str(reader), article_id=article_id
            )
        assert await fold_events(runtime.db, runtime.store) == 6

        def share(batch: object) -> int:
            return sum(a in by_channel[favourite] for a in ids(batch))

        mine = await recommender.user_recommend(str(reader), 0, 10, T1)
        anonymous = await recommender.user_recommend("anon-7", 0, 10, T1)
        assert share(mine) > share(anonymous)
        assert share(mine) >= 5

    async def test_likes_in_the_database_bootstrap_a_profile(
        self, data: RecoData, recommender: Recommender
    ) -> None:
        channels = await data.channels(4)
        author = await data.user()
        by_channel = {
            c: await data.articles(15, author=author, channel=c, age=timedelta(hours=i + 1))
            for i, c in enumerate(channels)
        }
        favourite = channels[-1]
        reader = await data.user()
        for article_id in by_channel[favourite][:3]:
            await data.attitude(reader, article_id, Attitude.LIKE)
        await data.collect(reader, by_channel[favourite][3])
        mine = await recommender.user_recommend(str(reader), 0, 10, T1)
        assert sum(a in by_channel[favourite] for a in ids(mine)) >= 5

    async def test_popular_articles_rank_above_unpopular_ones_of_the_same_age(
        self, runtime: Runtime, data: RecoData, recommender: Recommender
    ) -> None:
        (channel,) = await data.channels(1)
        same_age = timedelta(hours=3)
        articles = [
            await data.article(author=await data.user(), channel=channel, age=same_age)
            for _ in range(8)
        ]
        popular = articles[2:4]
        for article_id in popular:
            for reader in range(5):
                await append_event(
                    runtime.store, action="click", user_id=f"r{reader}", article_id=article_id
                )
        await fold_events(runtime.db, runtime.store)
        ranked = ids(await recommender.user_recommend("anon-9", channel, 8, T1))
        assert set(ranked[:2]) == set(popular)

    async def test_counters_stand_in_before_any_event(
        self, runtime: Runtime, data: RecoData, recommender: Recommender
    ) -> None:
        (channel,) = await data.channels(1)
        articles = [
            await data.article(author=await data.user(), channel=channel, age=timedelta(hours=2))
            for _ in range(6)
        ]
        await runtime.store.zadd("count:art:liking", {str(articles[4]): 40})
        assert ids(await recommender.user_recommend("", channel, 6, T1))[0] == articles[4]

    async def test_one_author_does_not_fill_the_batch(
        self, data: RecoData, recommender: Recommender
    ) -> None:
        (channel,) = await data.channels(1)
        prolific, others = await data.user(), [await data.user() for _ in range(6)]
        await data.articles(10, author=prolific, channel=channel, age=timedelta(minutes=1))
        for author in others:
            await data.article(author=author, channel=channel, age=timedelta(hours=5))
        batch = await recommender.user_recommend("", channel, 6, T1)
        assert len(batch.items) == 6
        # Every one of the prolific author's articles is fresher; others still get in.
        authors = await _authors(data, ids(batch))
        assert authors.count(prolific) <= 3


async def _authors(data: RecoData, article_ids: list[int]) -> list[int]:
    async with data.runtime.db.read_session() as session:
        rows = await session.execute(
            select(Article.article_id, Article.user_id).where(Article.article_id.in_(article_ids))
        )
        found: dict[int, int] = dict(rows.all())
    return [found[a] for a in article_ids]


class TestTracks:
    async def test_tracks_and_exposure_are_json_in_the_original_shape(
        self, data: RecoData, recommender: Recommender
    ) -> None:
        channel, _, _ = await _channel_with_articles(data, 3)
        batch = await recommender.user_recommend("77", channel, 3, T1)
        exposure = json.loads(batch.exposure)
        assert exposure["action"] == "exposure" and exposure["userId"] == "77"
        assert json.loads(exposure["articleId"]) == ids(batch)
        for item in batch.items:
            assert set(item.track) == {"click", "collect", "share", "read"}
            for action, raw in item.track.items():
                track = json.loads(raw)
                assert track["action"] == action and track["articleId"] == str(item.article_id)
                assert track["userId"] == "77" and track["algorithmCombine"]
