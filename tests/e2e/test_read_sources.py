"""Read sources (mis.md §5.3, M55) from the tokens the feed really hands out: a read reported
with the ``read`` token of an item of channel 0's feed counts as a recommendation, of another
channel's feed as a channel read, whether the recommender (gRPC on loopback) or the local
fallback served the batch."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from tests.e2e.test_publish_to_app import reco  # noqa: F401 - the recommender fixture
from toutiao.models.enums import ReadSource
from toutiao.stats import activity, figures, rollup


@pytest.fixture(autouse=True)
def empty_buffer() -> None:
    activity.clear()


@pytest.fixture
async def channel(factory) -> int:
    (tech,) = await factory.channels(["科技"])
    author = await factory.user(name="作者")
    now = datetime.now().replace(microsecond=0)
    for n in range(12):
        await factory.article(
            author.user_id, tech.channel_id, title=f"第{n}篇", pubdate=now - timedelta(hours=n)
        )
    return tech.channel_id


async def read_first_item(client, channel_id: int, device: str) -> None:
    feed = await client.get(
        "/app/v1_1/articles",
        params={"channel_id": channel_id, "timestamp": int(time.time() * 1000), "with_top": 0},
        headers={"Authorization": f"Anony {device}"},
    )
    assert feed.status_code == 200, feed.text
    item = feed.json()["data"]["results"][0]
    report = await client.post(
        "/app/v1_0/reading/durations",
        json={"art_id": item["art_id"], "duration": 30},
        headers={"Trace": item["trace"]["read"], "Authorization": f"Anony {device}"},
    )
    assert report.status_code == 201, report.text


async def sources(runtime) -> dict[int, int]:
    async def expected(ids: list[int]) -> dict[int, float]:
        return await rollup.expected_reading_seconds(runtime.db, ids)

    await activity.flush(runtime.store, expected)
    await rollup.rollup_job(runtime.db, runtime.store)
    async with runtime.db.read_session() as session:
        data = await figures.read_sources(session)
    return {item["source"]: item["count"] for item in data["read_sources"] if item["count"]}


async def test_reads_from_the_recommender_carry_their_feed(client, runtime, channel, reco):  # noqa: F811
    await read_first_item(client, 0, "device-a")
    await read_first_item(client, channel, "device-b")
    await read_first_item(client, channel, "device-c")
    assert await sources(runtime) == {ReadSource.RECOMMEND: 1, ReadSource.CHANNEL: 2}


async def test_reads_from_the_local_fallback_carry_their_feed(client, runtime, channel):
    assert runtime.reco is None
    await read_first_item(client, 0, "device-a")
    await read_first_item(client, channel, "device-b")
    assert await sources(runtime) == {ReadSource.RECOMMEND: 1, ReadSource.CHANNEL: 1}
