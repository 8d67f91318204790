"""The recount after a storage switch: only the members written lately, from SQL."""

from __future__ import annotations

from toutiao.kit.db import commit
from toutiao.models import UserRelation
from toutiao.models.enums import Relation
from toutiao.stats import counters, tasks
from toutiao.stats.counters import RecentMembers


def test_recent_members_are_bounded_and_say_when_some_were_dropped() -> None:
    recent = RecentMembers(window=300, limit=3)
    for member in (1, 2, 1, 3):
        recent.add("k", member)
    assert recent.since() == ({"k": {1, 2, 3}}, False)
    recent.add("k", 4)  # evicts 2, written inside the window
    members, dropped = recent.since()
    assert members == {"k": {1, 3, 4}} and dropped


async def test_a_lost_write_is_recounted_and_untouched_members_are_left_alone(runtime, factory):
    fan, star, other = await factory.user(), await factory.user(), await factory.user()
    counters.recent.clear()
    async with runtime.db.session() as session:
        session.add(
            UserRelation(user_id=fan.user_id, target_user_id=star.user_id, relation=Relation.FOLLOW)
        )
        await commit(session)
    # The write reached Redis, then a failover lost it; an unrelated member is off too.
    async with runtime.store.pipeline(transaction=False) as pipe:
        counters.USER_FANS.queue(pipe, star.user_id, 1)
        await pipe.execute()
    await runtime.store.zrem(counters.USER_FANS.key, star.user_id)
    await runtime.store.zadd(counters.USER_FANS.key, {str(other.user_id): 7})
    counters.USER_FOLLOWINGS.touch(fan.user_id)  # written, but not yet in Redis

    assert await tasks.reconcile_recent(runtime.db, runtime.store, "test") == 2
    assert await counters.USER_FANS.get(runtime.store, star.user_id) == 1
    assert await counters.USER_FOLLOWINGS.get(runtime.store, fan.user_id) == 1
    assert await counters.USER_FANS.get(runtime.store, other.user_id) == 7  # not touched here


async def test_a_member_counted_down_to_zero_leaves_the_zset(runtime, factory):
    star = await factory.user()
    counters.recent.clear()
    await counters.USER_FANS.incr(runtime.store, star.user_id, 2)  # the follows were undone
    await tasks.reconcile_recent(runtime.db, runtime.store, "test")
    assert await runtime.store.zscore(counters.USER_FANS.key, star.user_id) is None


async def test_an_outage_longer_than_the_memory_gets_the_full_rebuild(runtime, factory):
    star = await factory.user()
    counters.recent.clear()
    await runtime.store.zadd(counters.USER_FANS.key, {str(star.user_id): 5})  # never touched
    tasks.mark_dirty()
    tasks._dirty_since -= counters.recent.window + 1  # the first miss is older than the memory
    await tasks.reconcile_recent(runtime.db, runtime.store, "test")
    assert await counters.USER_FANS.get(runtime.store, star.user_id) == 0
    assert not tasks.is_dirty()


async def test_a_short_outage_is_covered_by_the_members_remembered(runtime, factory):
    star, other = await factory.user(), await factory.user()
    counters.recent.clear()
    await runtime.store.zadd(counters.USER_FANS.key, {str(other.user_id): 5})
    tasks._dirty = False
    tasks.mark_dirty()
    counters.USER_FANS.touch(star.user_id)
    await tasks.reconcile_recent(runtime.db, runtime.store, "test")
    assert await counters.USER_FANS.get(runtime.store, other.user_id) == 5  # no full rebuild
    assert not tasks.is_dirty()
