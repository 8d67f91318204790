"""The feed's promises with the recommender on loopback gRPC, run repeatedly (on a single
server and, with ``TOUTIAO_TEST_REDIS_CLUSTER=1``, on a 3-master cluster):

- a request that fails after the recommender chose its batch marks nothing as shown, and the
  next request is offered the same articles;
- a fresh batch is never one already shown, and replaying a ``pre_timestamp`` returns exactly
  the batch served at that time; also when the API gives up on the recommender's deadline
  while the recommender goes on (the race: the recommender recorded a batch nobody saw).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.api.app import test_warm_paths as warm
from toutiao.recommend import history, keys
from toutiao.runtime import connect_reco

reco, world, feed = warm.reco, warm.world, warm.feed  # the recommender on loopback gRPC


async def _history(runtime, uid: str, channel: int) -> dict[int, list[int]]:
    raw = await runtime.store.zrange(keys.history(uid, channel), 0, -1, withscores=True)
    batches: dict[int, list[int]] = {}
    for member, score in raw:
        assert int(score) not in batches, "two batches recorded for one request"
        batches[int(score)] = [aid for aid, _ in history._decode(member)]
    return batches


async def _shown(runtime, uid: str) -> set[int]:
    return {int(a) for a in await runtime.store.zrange(keys.shown(uid), 0, -1)}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [r["art_id"] for r in response.json()["data"]["results"]]


async def test_a_failed_request_marks_nothing_and_the_next_gets_the_same(
    client, runtime, reco, world
):
    uid, channel = "anon:device-f", world["channel"]
    stamp = int(time.time() * 1000)
    # The recommender chose a batch for a request that then failed before answering.
    chosen = await reco.user_recommend(uid, channel, 10, stamp, caller_records=True)
    assert len(chosen.items) == 10
    assert await _history(runtime, uid, channel) == {} and await _shown(runtime, uid) == set()
    headers = {"Authorization": "Anony device-f"}
    again = _ids(await client.get(feed(channel, stamp + 1, 0), headers=headers))
    assert again == [item.article_id for item in chosen.items]
    assert await _history(runtime, uid, channel) == {stamp + 1: again}
    assert await _shown(runtime, uid) == set(again)


@pytest.mark.parametrize("run", range(6))
@pytest.mark.parametrize("deadline", ["kept", "missed"])
async def test_fresh_batches_and_replays_hold_under_repeated_runs(
    client, runtime, settings, reco, world, run, deadline
):
    if deadline == "missed":  # the API falls back to its local recall every time
        runtime.reco = connect_reco(
            settings.model_copy(update={"RECO_TIMEOUT": 0.001}), reco.target
        )
    headers = {"Authorization": f"Anony promise-{run}"}
    uid, channel = f"anon:promise-{run}", world["channel"]
    served: dict[int, list[int]] = {}
    stamp = int(time.time() * 1000)
    pre = []
    try:
        for pull in range(3):
            response = await client.get(feed(channel, stamp + pull, 0), headers=headers)
            ids = _ids(response)
            assert ids and not set(ids) & {a for b in served.values() for a in b}, pull
            served[stamp + pull] = ids
            pre.append(response.json()["data"]["pre_timestamp"])
    finally:
        if deadline == "missed":
            await runtime.reco.close()
            runtime.reco = reco
    await asyncio.sleep(0.3)  # a recommender call the API gave up on finishes meanwhile
    assert await _history(runtime, uid, channel) == served
    assert await _shown(runtime, uid) <= {a for b in served.values() for a in b}
    for pull in range(3):  # asking again at a request's time replays exactly its batch
        replay = _ids(await client.get(feed(channel, stamp + pull, 0), headers=headers))
        assert replay == served[stamp + pull]
    # each page's pre_timestamp replays exactly the page before it, whichever source chose
    # the batch (the local recall's once gave the oldest article's publication time)
    assert pre[0] == 0
    for pull in (1, 2):
        assert pre[pull] == stamp + pull - 1
        replay = _ids(await client.get(feed(channel, pre[pull], 0), headers=headers))
        assert replay == served[stamp + pull - 1]
