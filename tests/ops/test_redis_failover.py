"""Failover drills on real processes: a Redis master, its replica and three Sentinels started
here; the master is killed (SIGKILL) while readers and writers use the app.

- counters: likes, follows and comments run concurrently over HTTP across the kill; no
  answer is a 500, every acknowledged write is in the database, and once the role watch has
  seen the new master and recounted, every counter equals the database;
- cache: an article withdrawn and a profile renamed while the master is gone (their
  invalidations fail) are shown fresh as soon as the watch has seen the new master, though
  the promoted replica still holds the old cached copies.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from tests.conftest import cluster_url
from tests.fixtures.factories import Factory
from tests.fixtures.redis_ha import ONCE, SentinelGroup
from tests.fixtures.redis_procs import REDIS_SERVER, RedisFarm
from toutiao.config import Settings
from toutiao.content import lifecycle
from toutiao.content.policy import Actor
from toutiao.kit.db import commit
from toutiao.kit.migrate import upgrade
from toutiao.kit.redis import RoleWatch, create_redis
from toutiao.main import create_app
from toutiao.models import ArticleAttitude, Comment, UserRelation
from toutiao.models.enums import Attitude, Relation
from toutiao.runtime import Runtime, build_runtime
from toutiao.stats import counters
from toutiao.stats.service import REBUILDABLE, rebuild_counters, sql_counts

pytestmark = [
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
    ONCE,
]

WRITERS = 6
AFTER_PROMOTION = 2.0  # seconds of writes on the new master before the writers stop


@pytest.fixture
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    started = SentinelGroup.start(tmp_path / "redis")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
async def stack(group: SentinelGroup, tmp_path: Path) -> AsyncIterator[tuple[Runtime, Any]]:
    settings = Settings(
        ENV="testing",
        DATA_DIR=tmp_path,
        REDIS_URL=group.url(1),
        REDIS_STORAGE_URL=group.url(2),
        TASK_BROKER_URL="local://",
        PUBLIC_URL="http://testserver",
        SCHEDULER_ENABLED=False,
        REDIS_ROLE_CHECK_SECONDS=0.2,
        DEMO=False,
        SMS_UNIVERSAL_CODE=None,
    )
    await upgrade(settings.database_url)
    runtime = build_runtime(settings, name="drill")
    await runtime.start()
    counters.recent.clear()
    try:
        app = create_app(settings, runtime=runtime)
        async with LifespanManager(app) as manager:
            yield runtime, manager.app
    finally:
        await runtime.close()


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 60.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not true after {seconds:.0f} s")


async def _settled(runtime: Runtime) -> None:
    """Until every role watch has seen the switch and run its listeners, settle pass included."""

    async def done() -> bool:
        return all(w.changes >= 1 and w.settled for w in runtime.role_watches)

    await _until(done)


@dataclass
class Ledger:
    """What the clients were told: the last acknowledged state of each pair, comments made."""

    statuses: list[int] = field(default_factory=list)
    likes: dict[tuple[int, int], bool | None] = field(default_factory=dict)  # None: unknown
    follows: dict[tuple[int, int], bool | None] = field(default_factory=dict)
    comments: set[int] = field(default_factory=set)


async def _write(http: httpx.AsyncClient, factory: Factory, user: int, ledger: Ledger, arts: list[int], authors: list[int], stop: asyncio.Event) -> None:  # fmt: skip
    rng = random.Random(user)
    headers = factory.headers(user)
    while not stop.is_set():
        kind = rng.choice(("like", "follow", "comment"))
        on = rng.random() < 0.7
        if kind == "like":
            art = rng.choice(arts)
            if on:
                r = await http.post("/app/v1_0/article/likings", json={"target": art}, headers=headers)  # fmt: skip
            else:
                r = await http.delete(f"/app/v1_0/article/likings/{art}", headers=headers)
            ledger.likes[(user, art)] = on if r.status_code < 300 else None
        elif kind == "follow":
            author = rng.choice(authors)
            if on:
                r = await http.post("/app/v1_0/user/followings", json={"target": author}, headers=headers)  # fmt: skip
            else:
                r = await http.delete(f"/app/v1_0/user/followings/{author}", headers=headers)
            ledger.follows[(user, author)] = on if r.status_code < 300 else None
        else:
            art = rng.choice(arts)
            r = await http.post("/app/v1_0/comments", json={"target": art, "content": "drill"}, headers=headers)  # fmt: skip
            if r.status_code == 201:
                ledger.comments.add(int(r.json()["data"]["com_id"]))
        ledger.statuses.append(r.status_code)


async def test_counters_equal_the_database_after_a_failover_under_writes(group, stack) -> None:
    runtime, app = stack
    factory = Factory(runtime)
    (channel,) = await factory.channels(["drill"], defaults=1)
    authors = [(await factory.user()).user_id for _ in range(3)]
    arts = [await factory.article(a, channel.channel_id) for a in authors for _ in range(3)]
    readers = [(await factory.user()).user_id for _ in range(WRITERS)]
    async with runtime.db.read_session() as session:  # the seeded articles, as `stats fix` does
        await rebuild_counters(session, runtime.store)
    ledger, stop = Ledger(), asyncio.Event()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        writers = [
            asyncio.create_task(_write(http, factory, u, ledger, arts, authors, stop))
            for u in readers
        ]

        async def started() -> bool:
            return len(ledger.statuses) >= 60  # writing before the kill

        await _until(started)
        old = await asyncio.to_thread(group.kill_master)
        await asyncio.to_thread(group.wait_promoted, old)
        await asyncio.sleep(AFTER_PROMOTION)
        stop.set()
        await asyncio.gather(*writers)
    await _settled(runtime)

    assert 500 not in ledger.statuses and max(ledger.statuses) < 500, sorted(set(ledger.statuses))
    async with runtime.db.primary_read_session() as session:
        liked = set(
            (
                await session.execute(
                    select(ArticleAttitude.user_id, ArticleAttitude.article_id).where(
                        ArticleAttitude.attitude == Attitude.LIKE
                    )
                )
            ).all()  # fmt: skip
        )
        followed = set(
            (
                await session.execute(
                    select(UserRelation.user_id, UserRelation.target_user_id).where(
                        UserRelation.relation == Relation.FOLLOW
                    )
                )
            ).all()  # fmt: skip
        )
        comments = set((await session.scalars(select(Comment.comment_id))).all())
        for pairs, found in ((ledger.likes, liked), (ledger.follows, followed)):
            for pair, state in pairs.items():
                if state is not None:
                    assert (pair in found) is state, pair  # no acknowledged write lost
        assert ledger.comments <= comments
        store = runtime.store
        for counter in REBUILDABLE:
            in_redis = {int(m): int(s) for m, s in await store.zrange(counter.key, 0, -1, withscores=True) if int(s)}  # fmt: skip
            assert in_redis == await sql_counts(session, counter), counter.key
    assert len(ledger.statuses) > 100


async def test_invalidations_missed_during_a_failover_are_written_on_the_new_master(
    group, stack
) -> None:
    runtime, app = stack
    factory = Factory(runtime)
    (channel,) = await factory.channels(["drill"], defaults=1)
    author = (await factory.user(name="before")).user_id
    art = await factory.article(author, channel.channel_id, title="before")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        assert (await http.get(f"/app/v1_0/articles/{art}")).status_code == 200
        assert (await http.get(f"/app/v1_0/users/{author}")).json()["data"]["name"] == "before"
        # The cached copies reached the replica before the master dies.
        raw = aioredis.Redis(port=group.replica, db=1, decode_responses=True)

        async def replicated() -> bool:
            return bool(await raw.exists(f"art:{art}:card"))

        await _until(replicated)
        await raw.aclose()

        old = await asyncio.to_thread(group.kill_master)
        async with runtime.db.session() as session:
            await lifecycle.withdraw(runtime, session, [art], Actor.author(author))
            await commit(session)
        renamed = await http.patch(
            "/app/v1_0/user/profile", json={"name": "renamed"}, headers=factory.headers(author)
        )
        assert renamed.status_code == 200, renamed.text
        await asyncio.to_thread(group.wait_promoted, old)
        await _settled(runtime)

        assert (await http.get(f"/app/v1_0/articles/{art}")).status_code == 404
        assert (await http.get(f"/app/v1_0/users/{author}")).json()["data"]["name"] == "renamed"


async def _until_reason(watch: RoleWatch, reason: str) -> None:
    seen: list[str | None] = []

    async def check() -> bool:
        seen.append(await watch.check())
        return reason in seen

    await _until(check, 30)


async def test_the_role_watch_sees_a_restart_and_a_cluster_failover(tmp_path: Path) -> None:
    farm = RedisFarm(tmp_path / "redis")
    try:
        port = farm.server()
        calls: list[str] = []

        async def listener(reason: str) -> None:
            calls.append(reason)

        watch = RoleWatch(create_redis(f"redis://127.0.0.1:{port}/0"), interval=0.1, settle=0)
        watch.on_change.append(listener)
        assert await watch.check() is None and watch.identity  # the first answer: no change
        farm.kill(port)
        assert await watch.check() is None  # down: nothing to repair yet
        farm._spawn(port, ["appendonly no"])  # another server process on the same address
        await _until_reason(watch, "new-server")
        await _until_reason(watch, "settle")
        assert calls == ["new-server", "settle"]
        await watch.close()

        ports = farm.cluster(masters=3, replicas=1, node_timeout_ms=1000)
        watch = RoleWatch(create_redis(cluster_url(ports)), interval=0.1, settle=60)
        await watch.check()
        assert watch.identity is not None and watch.identity.count(",") == 2  # three primaries
        farm.kill(ports[0])
        await _until_reason(watch, "new-server")  # a replica took over the dead one's slots
        await watch.close()
    finally:
        farm.stop()
