"""Structural performance rules (DESIGN.md): a warm feed page and a warm article detail make
zero SQL queries and at most two Redis round trips in the API process.

The recommender runs as a real gRPC server on loopback with engines of its own (as it would in
its own process), so only the API's queries and round trips are counted.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from tests.fixtures.redis_counter import count_round_trips
from toutiao.article import cache as article_cache
from toutiao.kit.db import count_queries
from toutiao.rpc.main import serve_recommender
from toutiao.runtime import build_runtime, connect_reco


@pytest.fixture
async def reco(settings, runtime):
    own = build_runtime(settings, name="reco-test")
    await own.start()
    try:
        async with serve_recommender(own, run_jobs=False) as port:
            runtime.reco = connect_reco(settings, f"127.0.0.1:{port}")
            runtime.reco.engines_for_tests = own.db.engines()  # type: ignore[attr-defined]
            yield runtime.reco
            await runtime.reco.close()
            runtime.reco = None
    finally:
        await own.close()


@pytest.fixture
async def world(factory, runtime):
    (channel,) = await factory.channels(["科技"])
    author = await factory.user(name="作者")
    now = datetime.now().replace(microsecond=0)
    ids = [
        await factory.article(
            author.user_id,
            channel.channel_id,
            title=f"第{n}篇 人工智能 新闻",
            pubdate=now - timedelta(hours=n),
        )
        for n in range(40)
    ]
    await runtime.store.zadd(f"ch:{channel.channel_id}:art:top", {str(ids[-1]): 1})
    return {"channel": channel.channel_id, "ids": ids, "author": author}


def feed(channel: int, timestamp: int, with_top: int = 1) -> str:
    return f"/app/v1_1/articles?channel_id={channel}&timestamp={timestamp}&with_top={with_top}"


def assert_warm(runtime, queries, trips) -> None:
    assert queries.count == 0, queries.statements
    assert trips.count <= 2, trips.calls


@pytest.mark.parametrize("who", ["anonymous", "user"])
async def test_warm_feed(client, runtime, factory, reco, world, who):
    headers = {"Authorization": "Anony device-9"}
    if who == "user":
        reader = await factory.user()
        headers = factory.headers(reader.user_id)
    first = int(time.time() * 1000)
    cold = await client.get(feed(world["channel"], first), headers=headers)
    assert cold.status_code == 200 and len(cold.json()["data"]["results"]) == 11  # pinned + 10
    async with runtime.db.read_session() as session:  # every card is in Redis now
        await article_cache.get_cards(runtime.cache, session, world["ids"])
    with (
        # the recommender's engines too: its next fresh batch comes from its wait queue
        count_queries([*runtime.db.engines(), *reco.engines_for_tests]) as queries,
        count_round_trips(runtime.cache, runtime.store) as trips,
    ):
        replay = await client.get(feed(world["channel"], first), headers=headers)
        fresh = await client.get(feed(world["channel"], first + 1000, with_top=0), headers=headers)
    assert replay.json()["data"]["results"] == cold.json()["data"]["results"]
    fresh_ids = [r["art_id"] for r in fresh.json()["data"]["results"]]
    assert len(fresh_ids) == 10 and not set(fresh_ids) & {
        r["art_id"] for r in cold.json()["data"]["results"]
    }
    assert queries.count == 0, queries.statements
    assert trips.count <= 4, trips.calls  # two requests, at most two each


@pytest.mark.parametrize("who", ["anonymous", "user"])
async def test_warm_detail(client, runtime, factory, reco, world, who):
    headers = {}
    if who == "user":
        reader = await factory.user()
        headers = factory.headers(reader.user_id)
    article_id = world["ids"][3]
    assert (
        await client.get(f"/app/v1_0/articles/{article_id}", headers=headers)
    ).status_code == 200
    asked = []
    answer = reco.similar
    reco.similar = lambda *args: asked.append(args) or answer(*args)
    with (
        count_queries(runtime.db.engines()) as queries,
        count_round_trips(runtime.cache, runtime.store) as trips,
    ):
        response = await client.get(
            f"/app/v1_0/articles/{article_id}", headers={**headers, "Trace": "t"}
        )
    assert response.status_code == 200
    assert_warm(runtime, queries, trips)
    assert trips.count == 1, trips.calls  # read seconds ago: card and body in the process
    assert asked == []  # the similar articles were remembered: no call to the recommender


async def test_feed_survives_the_recommender_going_down(client, runtime, reco, world):
    await reco.close()
    runtime.reco = type(reco)("127.0.0.1:1", timeout=0.2)  # nothing listens there
    started = time.monotonic()
    response = await client.get(feed(world["channel"], int(time.time() * 1000)))
    assert response.status_code == 200
    assert len(response.json()["data"]["results"]) == 11
    assert time.monotonic() - started < 5  # bounded by the deadline, not a hang
