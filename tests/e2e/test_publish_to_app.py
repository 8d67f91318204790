"""End to end across surfaces: an article written and submitted through /mp reaches /app's
search, feed, detail and lists, and leaves every one of them again (feed batches already
queued for a reader included) after an edit back to draft, a delete, a rejection or a ban.

Everything runs for real: the HTTP app, the search index (Tantivy, fed by the index queue
as the worker drains it), the recommender as a gRPC server on loopback with its own engines.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from tests.search.helpers import own_engine
from toutiao.content import lifecycle
from toutiao.content.policy import Actor
from toutiao.kit.db import commit
from toutiao.recommend import keys, waiting
from toutiao.rpc.main import serve_recommender
from toutiao.runtime import build_runtime, connect_reco

APP = "/app/v1_0"
WORD = "极光鲸"  # a word no other article has
STAFF = Actor.staff(1)


@pytest.fixture
async def reco(settings, runtime):
    own = build_runtime(settings, name="reco-e2e")
    await own.start()
    try:
        async with serve_recommender(own, run_jobs=False) as port:
            # The service shares this test's event loop and CI's two busy cores: a new
            # reader's first (cold) call can outlast the production deadline, and the feed
            # would then answer from its local recall, which queues nothing.
            slow = settings.model_copy(update={"RECO_TIMEOUT": 5.0})
            runtime.reco = connect_reco(slow, f"127.0.0.1:{port}")
            yield runtime.reco
            await runtime.reco.close()
            runtime.reco = None
    finally:
        await own.close()


@pytest.fixture
def demo_settings(runtime):
    """As with ``--demo``: the universal code and auto-approval."""
    runtime.settings.SMS_UNIVERSAL_CODE, runtime.settings.MP_AUTO_APPROVE = "246810", True
    yield
    runtime.settings.SMS_UNIVERSAL_CODE, runtime.settings.MP_AUTO_APPROVE = None, None


@pytest.fixture
async def engine(runtime, tmp_path):
    async with own_engine(runtime, tmp_path / "index") as search:
        yield search


@pytest.fixture
async def world(factory):
    (channel,) = await factory.channels(["科技"])
    writer = await factory.user(name="老作者")
    now = datetime.now().replace(microsecond=0)
    for n in range(45):
        await factory.article(
            writer.user_id,
            channel.channel_id,
            title=f"第{n}篇 科技 新闻",
            pubdate=now - timedelta(hours=n + 1),
        )
    return channel.channel_id


class Platform:
    def __init__(self, client, runtime, factory, channel_id: int) -> None:
        self.client, self.runtime, self.factory = client, runtime, factory
        self.channel_id = channel_id
        self.stamp = int(time.time() * 1000)

    async def drain_index(self) -> None:
        """Nothing to wait for: the tests' local:// task tier indexes at commit."""

    async def searchable(self, article_id: int) -> bool:
        await self.drain_index()
        response = await self.client.get(f"{APP}/search", params={"q": WORD, "per_page": 50})
        assert response.status_code == 200, response.text
        return article_id in [r["art_id"] for r in response.json()["data"]["results"]]

    async def fresh_batch(self, headers) -> list[int]:
        self.stamp += 60_000
        response = await self.client.get(
            "/app/v1_1/articles",
            params={"channel_id": self.channel_id, "timestamp": self.stamp, "with_top": 0},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        return [r["art_id"] for r in response.json()["data"]["results"]]

    async def queue_first(self, reader_id: int, article_id: int) -> None:
        """Put ``article_id`` at the head of the reader's queued batches, as if the
        recommender had ranked it first when it filled the queue."""
        key = keys.waiting(str(reader_id), self.channel_id)
        queued = waiting.parse_waiting(await self.runtime.store.zrange(key, 0, -1, withscores=True))
        assert queued, "the reader's fresh batch left no queue"
        async with self.runtime.store.pipeline(transaction=False) as pipe:
            waiting.queue_waiting(
                pipe, str(reader_id), self.channel_id, [(article_id, "recent"), *queued]
            )
            # the API never serves again what the newest batches showed: forget them
            pipe.delete(keys.history(str(reader_id), self.channel_id))
            await pipe.execute()

    async def in_lists(self, author_id: int, article_id: int, reader_headers) -> dict[str, bool]:
        async def ids(path: str, headers=None) -> list[int]:
            response = await self.client.get(path, headers=headers)
            assert response.status_code == 200, response.text
            return [r["art_id"] for r in response.json()["data"]["results"]]

        card = (await self.client.get(f"{APP}/users/{author_id}")).json()["data"]
        return {
            "author list": article_id in await ids(f"{APP}/users/{author_id}/articles"),
            "author count": card["art_count"] == 1,
            "collections": article_id in await ids(f"{APP}/article/collections", reader_headers),
            "history": article_id in await ids(f"{APP}/user/histories", reader_headers),
        }


async def mp_login(client, mobile: str) -> dict[str, str]:
    response = await client.post(
        "/mp/v1_0/authorizations", json={"mobile": mobile, "code": "246810", "agree": True}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['token']}"}


def article_body(channel_id: int) -> dict:
    return {
        "title": f"关于{WORD}的独家报道",
        "content": f"<p>今天在北极附近发现了{WORD}的踪迹。</p>",
        "cover": {"type": -1, "images": []},
        "channel_id": channel_id,
    }


async def take_down(how: str, platform: Platform, headers, article_id: int) -> None:
    client, runtime = platform.client, platform.runtime
    url = f"/mp/v1_0/articles/{article_id}"
    if how == "edit to draft":
        response = await client.put(
            url + "?draft=true", json=article_body(platform.channel_id), headers=headers
        )
        assert response.status_code == 201
    elif how == "delete":
        assert (await client.delete(url, headers=headers)).status_code == 204
    elif how == "reject":
        runtime.settings.MP_AUTO_APPROVE = False  # the edit goes back to review, then is refused
        response = await client.put(
            url + "?draft=false", json=article_body(platform.channel_id), headers=headers
        )
        assert response.status_code == 201
        async with runtime.db.session() as session:
            assert await lifecycle.reject(runtime, session, [article_id], STAFF, "标题党") == 1
            await commit(session)
    else:  # staff ban
        async with runtime.db.session() as session:
            assert await lifecycle.ban(runtime, session, [article_id], STAFF, "违规") == 1
            await commit(session)


@pytest.mark.parametrize("how", ["edit to draft", "delete", "reject", "ban"])
async def test_mp_article_reaches_the_app_and_leaves_it(
    client, runtime, factory, reco, engine, world, demo_settings, how
):
    platform = Platform(client, runtime, factory, world)
    headers = await mp_login(client, "13911111111")
    response = await client.post(
        "/mp/v1_0/articles?draft=false", json=article_body(world), headers=headers
    )
    assert response.status_code == 201, response.text
    article_id = response.json()["data"]["id"]
    author_id = (await client.get(f"{APP}/articles/{article_id}")).json()["data"]["aut_id"]

    # Visible everywhere: search, detail, a fresh feed batch, the author's list and counter.
    assert await platform.searchable(article_id)
    reader, other, witness = [await factory.user() for _ in range(3)]
    reader_headers = factory.headers(reader.user_id)
    detail = await client.get(f"{APP}/articles/{article_id}", headers=reader_headers)
    assert detail.status_code == 200 and WORD in detail.json()["data"]["content"]
    collect = await client.post(
        f"{APP}/article/collections", json={"target": article_id}, headers=reader_headers
    )
    assert collect.status_code == 201, collect.text
    assert article_id in await platform.fresh_batch(reader_headers)
    assert await platform.in_lists(author_id, article_id, reader_headers) == {
        "author list": True,
        "author count": True,
        "collections": True,
        "history": True,
    }
    # Two more readers hold it in a queued batch; one is served it from there (the queue
    # really serves it), the other will ask only after it was taken down.
    for someone in (other, witness):
        await platform.fresh_batch(factory.headers(someone.user_id))
        await platform.queue_first(someone.user_id, article_id)
    assert article_id in await platform.fresh_batch(factory.headers(witness.user_id))

    await take_down(how, platform, headers, article_id)

    assert not await platform.searchable(article_id)
    assert (await client.get(f"{APP}/articles/{article_id}")).status_code == 404
    assert await platform.in_lists(author_id, article_id, reader_headers) == {
        "author list": False,
        "author count": False,
        "collections": False,
        "history": False,
    }
    collections = await client.get(f"{APP}/article/collections", headers=reader_headers)
    assert collections.json()["data"]["total_count"] == 0
    for _ in range(waiting.WAIT_BATCHES + 1):  # the queued batches, then fresh recall
        assert article_id not in await platform.fresh_batch(factory.headers(other.user_id))
        assert article_id not in await platform.fresh_batch(reader_headers)
    shown = {"status": 4} if how == "delete" else {}
    mine = await client.get("/mp/v1_0/articles", params=shown, headers=headers)
    assert article_id in [r["id"] for r in mine.json()["data"]["results"]]
