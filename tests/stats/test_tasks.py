"""A counter update lost to a Redis failure after commit is repaired once Redis answers."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError

from toutiao.kit.db import commit, on_commit
from toutiao.models import UserRelation
from toutiao.models.enums import Relation
from toutiao.stats import counters, tasks


async def test_failed_after_commit_update_is_repaired(runtime, factory):
    fan, star = await factory.user(), await factory.user()

    async def lost_update() -> None:
        raise RedisConnectionError("redis went away")

    tasks._dirty = False
    async with runtime.db.session() as session:
        session.add(
            UserRelation(user_id=fan.user_id, target_user_id=star.user_id, relation=Relation.FOLLOW)
        )
        on_commit(session, lost_update)
        await commit(session)  # the row is durable; the counter update was lost
    assert tasks.is_dirty()
    assert await counters.USER_FANS.get(runtime.store, star.user_id) == 0
    await tasks.repair_job(runtime.db, runtime.store)
    assert not tasks.is_dirty()
    assert await counters.USER_FANS.get(runtime.store, star.user_id) == 1
    assert await tasks.repair_job(runtime.db, runtime.store) is None  # nothing to do now
