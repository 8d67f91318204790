"""Announcements written by staff (mis.md M45-M50) and shown by the app (E02, E03)."""

from __future__ import annotations

import pytest

from tests.api.mis.helpers import assert_error, log_rows
from toutiao.kit import broadcast

BASE = "/mis/v1_0/announcements"
ALL = (
    "announcement-list-get",
    "announcement-list-post",
    "announcement-get",
    "announcement-put",
    "announcement-status-put",
    "announcement-delete",
)


async def app_titles(client) -> list[str]:
    response = await client.get("/app/v1_0/announcements")
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["data"]["results"]]


async def app_detail(client, announcement_id: int):
    return await client.get(f"/app/v1_0/announcements/{announcement_id}")


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("GET", BASE, None, "announcement-list-get"),
        ("POST", BASE, {"title": "t", "content": "c"}, "announcement-list-post"),
        ("GET", f"{BASE}/1", None, "announcement-get"),
        ("PUT", f"{BASE}/1", {"title": "t"}, "announcement-put"),
        ("PUT", f"{BASE}/1/status", {"status": 1}, "announcement-status-put"),
        ("DELETE", f"{BASE}/1", None, "announcement-delete"),
    ],
)
async def test_each_needs_its_code(client, runtime, staff, method, path, body, code):
    headers = await staff.headers(*(c for c in ALL if c != code))
    assert_error(await client.request(method, path, json=body, headers=headers), 403)
    assert_error(await client.request(method, path, json=body), 401)
    assert await log_rows(runtime) == []


class TestLifecycle:
    async def test_draft_publish_edit_withdraw_delete_in_the_app(self, client, runtime, staff):
        headers = await staff.headers(*ALL)
        assert await app_titles(client) == []  # cached empty list
        created = await client.post(
            BASE,
            json={"title": " 维护通知 ", "content": "<p>今晚维护</p><script>x()</script>"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        item = created.json()["data"]
        assert (item["title"], item["status"], item["publish_time"]) == ("维护通知", 0, None)
        assert item["content"] == "<p>今晚维护</p>"
        target = f"{BASE}/{item['announcement_id']}"
        assert await app_titles(client) == []
        assert (await app_detail(client, item["announcement_id"])).status_code == 400
        published = await client.put(f"{target}/status", json={"status": 1}, headers=headers)
        assert published.status_code == 201 and published.json()["data"]["publish_time"]
        assert await app_titles(client) == ["维护通知"]
        edited = await client.put(target, json={"title": "维护完成"}, headers=headers)
        assert edited.json()["data"]["publish_time"] == published.json()["data"]["publish_time"]
        assert await app_titles(client) == ["维护完成"]
        detail = await app_detail(client, item["announcement_id"])
        assert detail.json()["data"]["title"] == "维护完成"
        assert_error(await client.delete(target, headers=headers), 409)  # published
        withdrawn = await client.put(f"{target}/status", json={"status": 2}, headers=headers)
        assert withdrawn.json()["data"]["status"] == 2
        assert await app_titles(client) == []
        assert (await app_detail(client, item["announcement_id"])).status_code == 400
        assert_error(await client.put(f"{target}/status", json={"status": 2}, headers=headers), 409)
        assert (await client.delete(target, headers=headers)).status_code == 204
        assert (await client.delete(target, headers=headers)).status_code == 204
        assert_error(await client.get(target, headers=headers), 404)
        assert [r.operation for r in await log_rows(runtime)] == [
            "announcement.create",
            "announcement.publish",
            "announcement.update",
            "announcement.withdraw",
            "announcement.delete",
            "announcement.delete",
        ]

    async def test_publish_at_creation_and_list(self, client, runtime, staff):
        headers = await staff.headers(*ALL)
        for title, status in (("甲", 1), ("乙", 0), ("丙", 1)):
            response = await client.post(
                BASE,
                json={"title": title, "content": "<p>x</p>", "status": status},
                headers=headers,
            )
            assert response.status_code == 201
        assert await app_titles(client) == ["丙", "甲"]
        data = (await client.get(BASE, headers=headers)).json()["data"]
        assert data["total_count"] == 3 and "content" not in data["announcements"][0]
        assert [a["title"] for a in data["announcements"]] == ["丙", "乙", "甲"]
        for params, titles in (
            ({"status": 0}, ["乙"]),
            ({"keyword": "甲"}, ["甲"]),
            ({"order_by": "id"}, ["甲", "乙", "丙"]),
        ):
            found = await client.get(BASE, params=params, headers=headers)
            assert [a["title"] for a in found.json()["data"]["announcements"]] == titles
        logged = [r.description for r in await log_rows(runtime)]
        assert logged[0].endswith("甲, published") and not logged[1].endswith("published")


class TestErrors:
    async def test_bad_input(self, client, runtime, staff):
        headers = await staff.headers(*ALL)
        for body in (
            {"title": "", "content": "x"},
            {"title": "x" * 33, "content": "x"},
            {"title": "t", "content": ""},
            {"title": "t", "content": "x" * 20_001},
            {"title": "t", "content": "<script>only()</script>"},
            {"title": "t", "content": "x", "status": 2},
            {"title": "t"},
            {"title": 1, "content": "x"},
        ):
            assert_error(await client.post(BASE, json=body, headers=headers), 400)
        created = await client.post(BASE, json={"title": "t", "content": "x"}, headers=headers)
        target = f"{BASE}/{created.json()['data']['announcement_id']}"
        assert_error(await client.put(target, json={}, headers=headers), 400)
        assert_error(await client.put(f"{target}/status", json={"status": 0}, headers=headers), 400)
        assert_error(await client.put(f"{target}/status", json={"status": 2}, headers=headers), 409)
        assert_error(await client.put(f"{BASE}/999", json={"title": "t"}, headers=headers), 404)
        assert_error(
            await client.put(f"{BASE}/999/status", json={"status": 1}, headers=headers), 404
        )
        assert_error(await client.get(f"{BASE}/999", headers=headers), 404)
        for params in ({"status": 3}, {"order_by": "title"}, {"per_page": 100}):
            assert_error(await client.get(BASE, params=params, headers=headers), 400)
        assert [r.operation for r in await log_rows(runtime)] == ["announcement.create"]


async def test_other_processes_drop_their_copies(client, runtime, staff):
    """Publishing is announced on the L1 broadcast channel every API process listens to."""
    pubsub = runtime.cache.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(broadcast.CHANNEL)
    try:
        headers = await staff.headers("announcement-list-post")
        created = await client.post(
            BASE, json={"title": "t", "content": "x", "status": 1}, headers=headers
        )
        wanted = f"announcements:{created.json()['data']['announcement_id']}"
        assert wanted in await heard(pubsub)
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
