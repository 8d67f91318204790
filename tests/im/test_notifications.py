"""Notifications end to end (app.md §4.2, E08; reference §14.36, §14.43).

Follow, like and comment through the HTTP API of the same server the Socket.IO clients are
connected to, as in ``toutiao serve`` (``memory://``: in-process delivery).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from toutiao.api.app.endpoints.imtest import imtest_enabled
from toutiao.config import Environment
from toutiao.main import create_app
from toutiao.notify import COMMENT, FOLLOWING, LIKING, now_ms
from toutiao.user.tokens import issue_token

BASE = "/app/v1_0"
ACTOR_FIELDS = {"user_id", "user_name", "user_photo", "timestamp"}
ARTICLE_FIELDS = ACTOR_FIELDS | {"art_id", "art_title"}


@dataclasses.dataclass
class Person:
    id: int
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def people(factory) -> dict[str, Person]:
    made = {}
    for name in ("author", "reader", "bystander"):
        row = await factory.user(name=name)
        made[name] = Person(row.user_id, name, issue_token(factory.runtime.settings, row.user_id))
    return made


@pytest.fixture
async def article(factory, people) -> int:
    (channel,) = await factory.channels(["科技"])
    return await factory.article(people["author"].id, channel.channel_id, title="Hello IM")


@pytest.fixture
async def watchers(im, clients, people) -> dict[str, Any]:
    """The author on two devices, a bystander, and an anonymous id equal to the author's id."""
    made = {}
    for key, query in {
        "author": f"token={people['author'].token}",
        "author_phone": f"token={people['author'].token}",
        "bystander": f"token={people['bystander'].token}",
        "hijacker": f"a={people['author'].id}",
    }.items():
        made[key] = await clients()
        await made[key].connect(im.url, query)
    return made


def assert_recent_ms(timestamp: Any) -> None:
    assert type(timestamp) is int and abs(now_ms() - timestamp) < 60_000


async def settle() -> None:
    await asyncio.sleep(0.2)  # anything misrouted would have arrived by now


class TestTriggers:
    async def test_follow(self, im, people, watchers):
        reader = people["reader"]
        response = await im.http.post(
            f"{BASE}/user/followings",
            json={"target": str(people["author"].id)},
            headers=reader.headers,
        )
        assert response.status_code == 201, response.text
        for device in ("author", "author_phone"):
            (payload,) = await watchers[device].wait_for(FOLLOWING)
            assert set(payload) == ACTOR_FIELDS
            assert (payload["user_id"], payload["user_name"], payload["user_photo"]) == (
                reader.id,
                "reader",
                None,
            )
            assert_recent_ms(payload["timestamp"])
        await settle()
        assert watchers["bystander"].received == watchers["hijacker"].received == []

    async def test_like(self, im, people, watchers, article):
        response = await im.http.post(
            f"{BASE}/article/likings", json={"target": article}, headers=people["reader"].headers
        )
        assert response.status_code == 201, response.text
        (payload,) = await watchers["author"].wait_for(LIKING)
        assert set(payload) == ARTICLE_FIELDS
        assert (payload["user_id"], payload["art_id"], payload["art_title"]) == (
            people["reader"].id,
            article,
            "Hello IM",
        )
        assert type(payload["art_id"]) is int
        assert_recent_ms(payload["timestamp"])
        await settle()
        assert watchers["bystander"].received == watchers["hijacker"].received == []

    async def test_comment(self, im, people, watchers, article):
        response = await im.http.post(
            f"{BASE}/comments",
            json={"target": str(article), "content": "nice", "art_id": None},
            headers=people["reader"].headers,
        )
        assert response.status_code == 201, response.text
        (payload,) = await watchers["author"].wait_for(COMMENT)
        assert set(payload) == ARTICLE_FIELDS
        assert (payload["user_id"], payload["art_id"]) == (people["reader"].id, article)
        await settle()
        assert watchers["bystander"].received == watchers["hijacker"].received == []

    async def test_nothing_after_disconnect(self, im, people, watchers):
        await watchers["author"].sio.disconnect()
        response = await im.http.post(
            f"{BASE}/user/followings",
            json={"target": people["author"].id},
            headers=people["reader"].headers,
        )
        assert response.status_code == 201
        await watchers["author_phone"].wait_for(FOLLOWING)
        assert watchers["author"].received == []


class TestImtest:
    @pytest.mark.parametrize(
        ("code", "event", "fields"),
        [
            ("f", FOLLOWING, ACTOR_FIELDS),
            ("l", LIKING, ARTICLE_FIELDS),
            ("c", COMMENT, ARTICLE_FIELDS),
        ],
    )
    async def test_emits_to_the_caller(self, im, people, watchers, code, event, fields):
        response = await im.http.get(f"/app/imtest/{code}", headers=people["author"].headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["message"] == "OK" and set(body["data"]) == fields
        assert_recent_ms(body["data"]["timestamp"])
        assert await watchers["author"].wait_for(event) == [body["data"]]

    @pytest.mark.parametrize("code", ["f", "l", "c"])
    async def test_anonymous_callers_broadcast_nothing(self, im, watchers, code):
        response = await im.http.get(f"/app/imtest/{code}")
        assert response.status_code == 401
        await settle()
        assert all(watcher.received == [] for watcher in watchers.values())

    async def test_only_the_callers_connections_with_a_token(self, im, people, watchers):
        response = await im.http.get("/app/imtest/l", headers=people["author"].headers)
        assert response.status_code == 200
        emitted = response.json()["data"]
        assert await watchers["author"].wait_for(LIKING) == [emitted]
        assert await watchers["author_phone"].wait_for(LIKING) == [emitted]
        await settle()
        assert watchers["bystander"].received == watchers["hijacker"].received == []

    @pytest.mark.parametrize("code", ["x", "F", "fl", "1"])
    async def test_unknown_event(self, im, people, watchers, code):
        response = await im.http.get(f"/app/imtest/{code}", headers=people["author"].headers)
        assert response.status_code == 404
        assert isinstance(response.json()["message"], str)
        await settle()
        assert all(watcher.received == [] for watcher in watchers.values())

    async def test_not_routable_in_production(self, settings, runtime):
        production = settings.model_copy(update={"ENV": Environment.production})
        assert not imtest_enabled(production)
        assert imtest_enabled(production.model_copy(update={"DEMO": True}))
        app = create_app(production, runtime=dataclasses.replace(runtime, settings=production))
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                response = await http.get("/app/imtest/f")
        assert response.status_code == 404
