"""Sensitive words (mis.md M57-M61) and the /mp submission check they drive."""

from __future__ import annotations

import pytest

from tests.api.mis.helpers import assert_error, log_rows
from tests.api.mp.conftest import Author

BASE = "/mis/v1_0/sensitive_words"
ALL = (
    "sensitive-word-list-get",
    "sensitive-word-list-post",
    "sensitive-word-get",
    "sensitive-word-put",
    "sensitive-word-delete",
)


@pytest.fixture
async def author(client, runtime, factory) -> Author:
    (channel,) = await factory.channels(["科技"])
    user = await factory.user(is_media=True)
    return Author(client, runtime, factory, user, channel.channel_id)


@pytest.fixture
def auto_approve(runtime):
    runtime.settings.MP_AUTO_APPROVE = True
    yield
    runtime.settings.MP_AUTO_APPROVE = None


async def submitted_status(author: Author, content: str) -> int:
    article_id = await author.create_id(content=f"<p>{content}</p>")
    return (await author.get(article_id)).json()["data"]["status"]


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("GET", BASE, None, "sensitive-word-list-get"),
        ("POST", BASE, {"word": "w", "weights": 1}, "sensitive-word-list-post"),
        ("GET", f"{BASE}/1", None, "sensitive-word-get"),
        ("PUT", f"{BASE}/1", {"weights": 1}, "sensitive-word-put"),
        ("DELETE", f"{BASE}/1", None, "sensitive-word-delete"),
    ],
)
async def test_each_needs_its_code(client, runtime, staff, method, path, body, code):
    headers = await staff.headers(*(c for c in ALL if c != code))
    assert_error(await client.request(method, path, json=body, headers=headers), 403)
    assert_error(await client.request(method, path, json=body), 401)
    assert await log_rows(runtime) == []


async def test_words_hold_mp_submissions(client, runtime, staff, author, auto_approve):
    headers = await staff.headers(*ALL)
    assert await submitted_status(author, "赌博网站") == 2  # no words yet: auto-approved
    created = await client.post(BASE, json={"word": " 赌博 ", "weights": 10}, headers=headers)
    assert created.status_code == 201, created.text
    word = created.json()["data"]
    assert (word["word"], word["weights"], word["hold_count"]) == ("赌博", 10, 0)
    assert await submitted_status(author, "又一个赌博网站") == 1  # held for a person
    held = (await client.get(f"{BASE}/{word['id']}", headers=headers)).json()["data"]
    assert held["hold_count"] == 1
    lowered = await client.put(f"{BASE}/{word['id']}", json={"weights": 0}, headers=headers)
    assert lowered.status_code == 201 and lowered.json()["data"]["weights"] == 0
    assert await submitted_status(author, "赌博") == 2  # weight 0: below the threshold
    assert (await client.delete(f"{BASE}/{word['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"{BASE}/{word['id']}", headers=headers)).status_code == 204
    assert_error(await client.get(f"{BASE}/{word['id']}", headers=headers), 404)
    assert [r.operation for r in await log_rows(runtime)] == [
        "sensitive_word.create",
        "sensitive_word.update",
        "sensitive_word.delete",
        "sensitive_word.delete",
    ]


async def test_list_and_errors(client, runtime, staff):
    headers = await staff.headers(*ALL)
    ids = []
    for word in ("Alpha", "beta", "gamma_1"):
        response = await client.post(BASE, json={"word": word, "weights": 3}, headers=headers)
        ids.append(response.json()["data"]["id"])
    data = (await client.get(BASE, headers=headers)).json()["data"]
    assert data["total_count"] == 3 and [w["word"] for w in data["words"]] == [
        "gamma_1",
        "beta",
        "Alpha",
    ]
    for params, found in (
        ({"order_by": "id"}, ["Alpha", "beta", "gamma_1"]),
        ({"word": "A_1"}, ["gamma_1"]),
        ({"word": "ALP"}, ["Alpha"]),
    ):
        listed = await client.get(BASE, params=params, headers=headers)
        assert [w["word"] for w in listed.json()["data"]["words"]] == found, params
    assert_error(
        await client.post(BASE, json={"word": "ALPHA", "weights": 1}, headers=headers), 409
    )
    assert_error(await client.put(f"{BASE}/{ids[1]}", json={"word": "alpha"}, headers=headers), 409)
    for body in (
        {"word": "", "weights": 1},
        {"word": "x" * 51, "weights": 1},
        {"word": "x", "weights": -1},
        {"word": "x"},
        {"word": "x", "weights": 1.5},
    ):
        assert_error(await client.post(BASE, json=body, headers=headers), 400)
    assert_error(await client.put(f"{BASE}/{ids[0]}", json={"weights": -2}, headers=headers), 400)
    assert_error(await client.put(f"{BASE}/99999", json={"weights": 2}, headers=headers), 404)
    assert_error(await client.get(f"{BASE}/0", headers=headers), 404)
    assert_error(await client.get(BASE, params={"order_by": "word"}, headers=headers), 400)
    assert [r.operation for r in await log_rows(runtime)] == ["sensitive_word.create"] * 3
