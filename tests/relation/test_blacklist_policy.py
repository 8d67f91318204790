"""A blacklist refuses every action between the two users, whoever blacklisted whom
(relation/policy.py): likes, dislikes, collections, comments and replies, comment likes."""

from __future__ import annotations

import pytest

from tests.api.app.test_auth import assert_error

BASE = "/app/v1_0"


@pytest.fixture
async def scene(client, factory):
    author = await factory.user(name="作者")
    reader = await factory.user(name="读者")
    (channel,) = await factory.channels(["c"])
    article_id = await factory.article(author.user_id, channel.channel_id)
    comment = await client.post(
        f"{BASE}/comments",
        json={"target": article_id, "content": "作者的评论"},
        headers=factory.headers(author.user_id),
    )
    assert comment.status_code == 201, comment.text
    return {
        "author": author.user_id,
        "reader": reader.user_id,
        "article": article_id,
        "comment": comment.json()["data"]["com_id"],
    }


def _actions(scene):
    article, comment = scene["article"], scene["comment"]
    return [
        (f"{BASE}/article/likings", {"target": article}),
        (f"{BASE}/article/dislikes", {"target": article}),
        (f"{BASE}/article/collections", {"target": article}),
        (f"{BASE}/comments", {"target": article, "content": "hi"}),
        (f"{BASE}/comments", {"target": comment, "content": "re", "art_id": article}),
        (f"{BASE}/comment/likings", {"target": comment}),
    ]


@pytest.mark.parametrize("who_blocks", ["author", "reader"])
async def test_every_action_is_refused_both_ways(client, factory, scene, who_blocks):
    blocker = scene[who_blocks]
    blocked = scene["reader" if who_blocks == "author" else "author"]
    response = await client.post(
        f"{BASE}/user/blacklists", json={"target": blocked}, headers=factory.headers(blocker)
    )
    assert response.status_code == 201
    reader_headers = factory.headers(scene["reader"])
    for path, body in _actions(scene):
        assert_error(await client.post(path, json=body, headers=reader_headers), 403)
    card = await client.get(f"{BASE}/articles/{scene['article']}", headers=reader_headers)
    if card.status_code == 200:
        data = card.json()["data"]
        assert data["attitude"] in (-1, None) and data["is_collected"] is False


async def test_actions_work_again_after_unblacklisting(client, factory, scene):
    author_headers = factory.headers(scene["author"])
    await client.post(
        f"{BASE}/user/blacklists", json={"target": scene["reader"]}, headers=author_headers
    )
    await client.delete(f"{BASE}/user/blacklists/{scene['reader']}", headers=author_headers)
    reader_headers = factory.headers(scene["reader"])
    for path, body in _actions(scene):
        response = await client.post(path, json=body, headers=reader_headers)
        assert response.status_code == 201, (path, response.text)
