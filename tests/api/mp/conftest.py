"""Helpers of the /mp tests."""

from __future__ import annotations

import pytest

DEMO_MOBILE = "13911111111"


def assert_error(response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message"}
    assert isinstance(body["message"], str) and body["message"]


@pytest.fixture
def universal_code(runtime):
    """The demo code 246810 is accepted for the duration of a test."""
    runtime.settings.SMS_UNIVERSAL_CODE = "246810"
    yield "246810"
    runtime.settings.SMS_UNIVERSAL_CODE = None


@pytest.fixture
def auto_approve(runtime):
    runtime.settings.MP_AUTO_APPROVE = True
    yield
    runtime.settings.MP_AUTO_APPROVE = None


class Author:
    """An author, a channel and the calls of the publishing front end."""

    def __init__(self, client, runtime, factory, user, channel_id: int) -> None:
        self.client, self.runtime, self.factory = client, runtime, factory
        self.user, self.id, self.channel_id = user, user.user_id, channel_id
        self.headers = factory.headers(user.user_id)
        self.media = runtime.storage.url("")

    def image(self, name: str) -> str:
        return f"{self.media}{name}.png"

    def body(self, **changes):
        body = {
            "title": "一篇足够长的标题",
            "content": "<p>正文内容</p>",
            "cover": {"type": 0, "images": []},
            "channel_id": self.channel_id,
        }
        body.update(changes)
        return body

    async def create(self, *, draft: bool = False, **changes):
        return await self.client.post(
            f"/mp/v1_0/articles?draft={'true' if draft else 'false'}",
            json=self.body(**changes),
            headers=self.headers,
        )

    async def create_id(self, *, draft: bool = False, **changes) -> int:
        response = await self.create(draft=draft, **changes)
        assert response.status_code == 201, response.text
        return response.json()["data"]["id"]

    async def update(self, article_id: int, *, draft: bool = False, **changes):
        return await self.client.put(
            f"/mp/v1_0/articles/{article_id}?draft={'true' if draft else 'false'}",
            json=self.body(**changes),
            headers=self.headers,
        )

    async def delete(self, article_id: int):
        return await self.client.delete(f"/mp/v1_0/articles/{article_id}", headers=self.headers)

    async def get(self, article_id: int):
        return await self.client.get(f"/mp/v1_0/articles/{article_id}", headers=self.headers)

    async def list(self, **params):
        return await self.client.get("/mp/v1_0/articles", params=params, headers=self.headers)


@pytest.fixture
async def channel_ids(factory) -> list[int]:
    rows = await factory.channels(["html", "python", "go"])
    return [row.channel_id for row in rows]


@pytest.fixture
async def author(client, runtime, factory, channel_ids) -> Author:
    user = await factory.user(is_media=True)
    return Author(client, runtime, factory, user, channel_ids[0])


@pytest.fixture
async def other_author(client, runtime, factory, channel_ids) -> Author:
    user = await factory.user(is_media=True)
    return Author(client, runtime, factory, user, channel_ids[0])
