"""Failover drill on a 3-master cluster with one replica per master: the master that holds
the like counters is killed while readers like, follow and comment.

- no request is answered 500 meanwhile (a write that needs Redis may say 507);
- writes resume once the replica is promoted (the client follows the new slot map);
- no acknowledged write is lost: every 2xx like, follow and comment is in the database;
- the automatic repair (the role watch's recount after new primaries) leaves no counter
  wrong: likes, comments, followings and fans equal the database afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally

import httpx
import pytest
import redis as sync_redis
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from tests.conftest import _reset, cluster_url
from tests.fixtures.factories import Factory
from tests.fixtures.redis_procs import RedisFarm
from toutiao.main import create_app
from toutiao.models import ArticleAttitude, Comment, UserRelation
from toutiao.models.enums import Attitude
from toutiao.runtime import build_runtime
from toutiao.stats import counters as c
from toutiao.stats.service import QUERIES

LOAD_SECONDS = 12.0


def _owner(port: int, key: str) -> int:
    """The port of the master serving ``key``'s slot, as node ``port`` sees it."""
    client = sync_redis.Redis(port=port, socket_timeout=1)
    slot = client.execute_command("CLUSTER", "KEYSLOT", key)
    for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return int(master[1])
    raise AssertionError(f"slot {slot} not covered")


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory):
    farm = RedisFarm(tmp_path_factory.mktemp("cluster-replicas"))
    try:
        yield farm, farm.cluster(masters=3, replicas=1, node_timeout_ms=1000)
    finally:
        farm.stop()


async def test_a_master_dies_under_write_load(settings, replicated) -> None:
    farm, ports = replicated
    url = cluster_url(ports)
    drill = settings.model_copy(
        update={"REDIS_URL": url, "REDIS_STORAGE_URL": url, "REDIS_SOCKET_TIMEOUT": 0.5}
    )
    runtime = build_runtime(drill, name="drill")
    await runtime.start()
    try:
        await _reset(runtime)
        factory = Factory(runtime)
        (channel,) = await factory.channels(["drill"])
        authors = [await factory.user(name=f"author{n}") for n in range(4)]
        articles = [
            await factory.article(authors[n % 4].user_id, channel.channel_id, title=f"t{n}")
            for n in range(12)
        ]
        readers = [await factory.user(name=f"reader{n}") for n in range(6)]
        app = create_app(drill, runtime=runtime)
        statuses: Tally[int] = Tally()
        acked: dict[str, set[tuple[int, int]]] = {"like": set(), "follow": set(), "comment": set()}
        after_promotion: Tally[int] = Tally()
        promoted = asyncio.Event()
        end = time.monotonic() + LOAD_SECONDS

        async def reader_load(http: httpx.AsyncClient, n: int) -> None:
            reader = readers[n]
            headers = factory.headers(reader.user_id)
            step = 0
            while time.monotonic() < end:
                article = articles[(n + step) % len(articles)]
                author = authors[(n + step) % len(authors)]
                kind, url, body = [
                    ("like", "/app/v1_0/article/likings", {"target": article}),
                    ("follow", "/app/v1_0/user/followings", {"target": author.user_id}),
                    ("comment", "/app/v1_0/comments", {"target": article, "content": f"c{step}"}),
                ][step % 3]
                response = await http.post(url, json=body, headers=headers)
                statuses[response.status_code] += 1
                if promoted.is_set():
                    after_promotion[response.status_code] += 1
                if response.status_code < 300:
                    target = body["target"]
                    acked[kind].add((reader.user_id, int(target)))
                step += 1
                await asyncio.sleep(0.01)

        async def kill_and_wait() -> None:
            await asyncio.sleep(2.0)
            victim = _owner(ports[0], c.ARTICLE_LIKES.key)
            survivor = next(p for p in ports if p != victim)
            farm.kill(victim)
            deadline = time.monotonic() + 20
            while _owner(survivor, c.ARTICLE_LIKES.key) == victim:
                assert time.monotonic() < deadline, "the replica was not promoted"
                await asyncio.sleep(0.2)
            promoted.set()

        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                await asyncio.gather(
                    kill_and_wait(), *(reader_load(http, n) for n in range(len(readers)))
                )
        assert statuses[500] == 0, statuses
        assert promoted.is_set()
        ok_after = sum(n for status, n in after_promotion.items() if status < 300)
        assert ok_after > 0, after_promotion  # writes resumed after the promotion

        async with runtime.db.read_session() as session:
            liked = set(
                (
                    await session.execute(
                        select(ArticleAttitude.user_id, ArticleAttitude.article_id).where(
                            ArticleAttitude.attitude == Attitude.LIKE
                        )
                    )
                ).all()
            )
            follows = set(
                (
                    await session.execute(select(UserRelation.user_id, UserRelation.target_user_id))
                ).all()
            )
            commented = set(
                (await session.execute(select(Comment.user_id, Comment.article_id))).all()
            )
            assert acked["like"] <= liked
            assert acked["follow"] <= follows
            assert acked["comment"] <= commented
        # The repair is automatic: the role watch sees new primaries and recounts what this
        # process wrote lately (at once, and again once the switch settled).
        deadline = time.monotonic() + 90  # the settle passes included (5 s and 20 s)
        while not all(w.changes and w.settled for w in runtime.role_watches):
            assert time.monotonic() < deadline, "no reconcile after the failover"
            await asyncio.sleep(0.2)
        async with runtime.db.read_session() as session:
            for counter in (c.ARTICLE_LIKES, c.ARTICLE_COMMENTS, c.USER_FOLLOWINGS, c.USER_FANS):
                truth = dict((await session.execute(QUERIES[counter.key]())).all())
                stored = dict(await runtime.store.zrange(counter.key, 0, -1, withscores=True))
                wrong = {
                    m: (stored.get(str(m), 0), n)
                    for m, n in truth.items()
                    if int(stored.get(str(m), 0)) != n
                }
                assert not wrong, (counter.key, wrong)
    finally:
        await runtime.close()
