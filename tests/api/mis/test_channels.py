"""Channels and pinned articles (mis.md M31-M36), and what the app and mp see after."""

from __future__ import annotations

import pytest

from tests.api.mis.helpers import assert_error, log_rows
from toutiao.kit import broadcast
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus

BASE = "/mis/v1_0"
CHANNELS = f"{BASE}/channels"
ALL = (
    "channel-list-get",
    "channel-list-post",
    "channel-list-put",
    "channel-list-delete",
    "channel-top-get",
    "channel-top-put",
)


async def app_channel_names(client, headers=None) -> list[str]:
    response = await client.get("/app/v1_0/channels", headers=headers)
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()["data"]["channels"]]


async def app_default_names(client) -> list[str]:
    response = await client.get("/app/v1_0/user/channels")
    return [c["name"] for c in response.json()["data"]["channels"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("GET", CHANNELS, None, "channel-list-get"),
        ("POST", CHANNELS, {"name": "x", "is_visible": 1}, "channel-list-post"),
        ("PUT", f"{CHANNELS}/1", {"name": "x"}, "channel-list-put"),
        ("DELETE", f"{CHANNELS}/1", None, "channel-list-delete"),
        ("GET", f"{CHANNELS}/0/top_articles", None, "channel-top-get"),
        ("PUT", f"{CHANNELS}/0/top_articles", {"article_ids": []}, "channel-top-put"),
    ],
)
async def test_each_needs_its_code(client, runtime, staff, method, path, body, code):
    headers = await staff.headers(*(c for c in ALL if c != code))
    response = await client.request(method, path, json=body, headers=headers)
    assert_error(response, 403)
    assert_error(await client.request(method, path, json=body), 401)
    assert await log_rows(runtime) == []


class TestList:
    async def test_counts_filters_orders(self, client, staff, factory):
        author = await factory.user()
        news, tech, hidden = await factory.channels(["新闻", "科技", "隐藏"], hidden=("隐藏",))
        for _ in range(2):
            await factory.article(author.user_id, tech.channel_id)
        await factory.article(author.user_id, news.channel_id, status=ArticleStatus.DRAFT)
        headers = await staff.headers("channel-list-get")
        data = (await client.get(CHANNELS, params={"order_by": "id"}, headers=headers)).json()[
            "data"
        ]
        assert data["total_count"] == 3 and data["page"] == 1 and data["per_page"] == 20
        assert [(c["name"], c["article_count"]) for c in data["channels"]] == [
            ("新闻", 1),
            ("科技", 2),
            ("隐藏", 0),
        ]
        assert set(data["channels"][0]) == {
            "channel_id",
            "name",
            "is_visible",
            "sequence",
            "is_default",
            "article_count",
        }
        for params, names in (
            ({"is_visible": 0}, ["隐藏"]),
            ({"keyword": "科"}, ["科技"]),
            ({"channel_id": str(news.channel_id)}, ["新闻"]),
            ({"is_default": 1, "order_by": "sequence"}, ["新闻", "科技"]),
        ):
            found = await client.get(CHANNELS, params=params, headers=headers)
            assert [c["name"] for c in found.json()["data"]["channels"]] == names, params
        assert hidden.channel_id

    @pytest.mark.parametrize(
        "params",
        [{"order_by": "name"}, {"is_visible": 2}, {"channel_id": "x"}, {"per_page": 9}],
    )
    async def test_bad_parameters(self, client, staff, params):
        headers = await staff.headers("channel-list-get")
        assert_error(await client.get(CHANNELS, params=params, headers=headers), 400)


class TestWrite:
    async def test_create_edit_delete_reach_the_app_at_once(self, client, runtime, staff):
        headers = await staff.headers(*ALL)
        assert await app_channel_names(client) == []  # cached empty list
        created = await client.post(
            CHANNELS,
            json={"name": " 体育 ", "is_visible": True, "sequence": 2, "is_default": 1},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        channel = created.json()["data"]
        assert channel == {
            "channel_id": channel["channel_id"],
            "name": "体育",
            "is_visible": 1,
            "sequence": 2,
            "is_default": 1,
        }
        assert await app_channel_names(client) == ["体育"]
        assert await app_default_names(client) == ["推荐", "体育"]
        mp = await client.get("/mp/v1_0/channels")
        assert [c["name"] for c in mp.json()["data"]["channels"]] == ["体育"]
        path = f"{CHANNELS}/{channel['channel_id']}"
        edited = await client.put(path, json={"name": "运动", "is_visible": 0}, headers=headers)
        assert edited.status_code == 201 and edited.json()["data"]["name"] == "运动"
        assert await app_channel_names(client) == []
        assert (await client.delete(path, headers=headers)).status_code == 204
        assert (await client.delete(path, headers=headers)).status_code == 204  # idempotent
        assert [r.operation for r in await log_rows(runtime)] == [
            "channel.create",
            "channel.update",
            "channel.delete",
            "channel.delete",
        ]

    async def test_conflicts_and_errors(self, client, runtime, staff, factory):
        author = await factory.user()
        news, tech = await factory.channels(["新闻", "科技"])
        await factory.article(author.user_id, news.channel_id)
        headers = await staff.headers(*ALL)
        assert_error(
            await client.post(CHANNELS, json={"name": "新闻", "is_visible": 1}, headers=headers),
            409,
        )
        for body in (
            {"name": "", "is_visible": 1},
            {"name": "x" * 33, "is_visible": 1},
            {"name": "a"},
            {"name": "a", "is_visible": 2},
            {"name": "a", "is_visible": 1, "sequence": -1},
            {"name": 5, "is_visible": 1},
        ):
            assert_error(await client.post(CHANNELS, json=body, headers=headers), 400)
        assert_error(
            await client.put(
                f"{CHANNELS}/{tech.channel_id}", json={"name": "新闻"}, headers=headers
            ),
            409,
        )
        assert_error(
            await client.put(f"{CHANNELS}/999999", json={"name": "z"}, headers=headers), 404
        )
        assert_error(await client.put(f"{CHANNELS}/abc", json={"name": "z"}, headers=headers), 404)
        assert_error(await client.delete(f"{CHANNELS}/{news.channel_id}", headers=headers), 409)
        assert await log_rows(runtime) == []

    async def test_delete_drops_subscriptions(self, client, staff, factory):
        reader = await factory.user()
        news, tech = await factory.channels(["新闻", "科技"])
        reader_headers = factory.headers(reader.user_id)
        saved = await client.put(
            "/app/v1_0/user/channels",
            json={
                "channels": [{"id": news.channel_id, "seq": 1}, {"id": tech.channel_id, "seq": 2}]
            },
            headers=reader_headers,
        )
        assert saved.status_code in (200, 201), saved.text
        mine = await client.get("/app/v1_0/user/channels", headers=reader_headers)
        assert [c["name"] for c in mine.json()["data"]["channels"]] == ["推荐", "新闻", "科技"]
        headers = await staff.headers("channel-list-delete")
        assert (
            await client.delete(f"{CHANNELS}/{tech.channel_id}", headers=headers)
        ).status_code == 204
        mine = await client.get("/app/v1_0/user/channels", headers=reader_headers)
        assert [c["name"] for c in mine.json()["data"]["channels"]] == ["推荐", "新闻"]


class TestPinned:
    async def test_pin_order_feed_and_cleanup(self, client, runtime, staff, factory):
        author = await factory.user(name="作者")
        (tech,) = await factory.channels(["科技"])
        first = await factory.article(author.user_id, tech.channel_id, title="一")
        second = await factory.article(author.user_id, tech.channel_id, title="二")
        headers = await staff.headers("channel-top-get", "channel-top-put")
        path = f"{CHANNELS}/{tech.channel_id}/top_articles"
        saved = await client.put(path, json={"article_ids": [str(second), first]}, headers=headers)
        assert saved.status_code == 201, saved.text
        assert [a["article_id"] for a in saved.json()["data"]["articles"]] == [second, first]
        feed = await client.get(
            "/app/v1_1/articles",
            params={"channel_id": tech.channel_id, "timestamp": 2**40, "with_top": 1},
        )
        items = feed.json()["data"]["results"]
        assert [(i["art_id"], i["is_top"]) for i in items[:2]] == [(second, 1), (first, 1)]
        listed = (await client.get(path, headers=headers)).json()["data"]
        assert listed["channel_id"] == tech.channel_id
        assert listed["articles"][0] == {
            "article_id": second,
            "title": "二",
            "status": 2,
            "user_id": author.user_id,
            "author_name": "作者",
            "channel_id": tech.channel_id,
            "channel_name": "科技",
        }
        async with runtime.db.session() as session:
            row = await session.get(Article, second)
            row.status = ArticleStatus.BANNED
            await session.commit()
        listed = (await client.get(path, headers=headers)).json()["data"]
        assert [a["article_id"] for a in listed["articles"]] == [first]
        assert await runtime.store.zrevrange(f"ch:{tech.channel_id}:art:top", 0, -1) == [str(first)]
        cleared = await client.put(path, json={"article_ids": []}, headers=headers)
        assert cleared.json()["data"]["articles"] == []
        assert [r.operation for r in await log_rows(runtime)] == ["channel.top.update"] * 2

    async def test_recommended_channel_and_errors(self, client, runtime, staff, factory):
        author = await factory.user()
        news, tech = await factory.channels(["新闻", "科技"])
        approved = await factory.article(author.user_id, news.channel_id)
        pending = await factory.article(
            author.user_id, news.channel_id, status=ArticleStatus.PENDING
        )
        headers = await staff.headers("channel-top-get", "channel-top-put")
        zero = f"{CHANNELS}/0/top_articles"
        assert (
            await client.put(zero, json={"article_ids": [approved]}, headers=headers)
        ).status_code == 201
        assert_error(await client.put(zero, json={"article_ids": [pending]}, headers=headers), 409)
        other = f"{CHANNELS}/{tech.channel_id}/top_articles"
        for body in (
            {"article_ids": [approved]},  # another channel's article
            {"article_ids": [123]},  # unknown
            {"article_ids": list(range(1, 12))},
            {"article_ids": "1"},
            {},
        ):
            assert_error(await client.put(other, json=body, headers=headers), 400)
        assert_error(await client.get(f"{CHANNELS}/999/top_articles", headers=headers), 404)
        assert_error(await client.get(f"{CHANNELS}/x/top_articles", headers=headers), 404)
        assert [r.operation for r in await log_rows(runtime)] == ["channel.top.update"]


async def test_other_processes_drop_their_copies(client, runtime, staff):
    """Each change is published on the L1 broadcast channel every API process listens to."""
    pubsub = runtime.cache.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(broadcast.CHANNEL)
    try:
        headers = await staff.headers("channel-list-post")
        created = await client.post(CHANNELS, json={"name": "新", "is_visible": 1}, headers=headers)
        assert created.status_code == 201
        assert "channels:all" in await heard(pubsub)
    finally:
        await pubsub.aclose()


async def heard(pubsub) -> list[str]:
    """Messages of the next two seconds (other test workers may share the Redis server)."""
    found = []
    for _ in range(20):
        message = await pubsub.get_message(timeout=0.1)
        if message is not None:
            found.append(message["data"])
    return found
