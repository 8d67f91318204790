"""HTTP tests of the announcements, E02-E03 (app.md; §1.7 paging, §5 item 24).

Rows are created directly with the model, as staff tools would.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from tests.api.app.test_auth import assert_error
from toutiao.announcement import service as announcement_service
from toutiao.kit.cache import ABSENT
from toutiao.kit.db import count_queries
from toutiao.models import Announcement
from toutiao.models.enums import AnnouncementStatus

LIST = "/app/v1_0/announcements"
BASE_TIME = datetime(2024, 3, 1, 9, 30, 15)


@pytest.fixture(autouse=True)
def _fresh_l1():
    announcement_service.clear_local_cache()
    yield
    announcement_service.clear_local_cache()


async def add(runtime, *rows: dict[str, Any]) -> list[Announcement]:
    """Insert in the given order (ids increase in that order)."""
    created = []
    async with runtime.db.session() as session:
        for values in rows:
            row = Announcement(
                title=values.get("title", "公告"),
                content=values.get("content", "<p>正文</p>"),
                status=values.get("status", AnnouncementStatus.PUBLISHED),
                publish_time=values.get("publish_time", BASE_TIME),
            )
            session.add(row)
            await session.flush()
            created.append(row)
        await session.commit()
    return created


async def get_page(client, **params: Any) -> dict[str, Any]:
    response = await client.get(LIST, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "data"} and body["message"] == "OK"
    data = body["data"]
    assert set(data) == {"page", "per_page", "results", "total_count"}
    for item in data["results"]:
        assert set(item) == {"id", "title", "pubdate"}
        assert type(item["id"]) is int
    return data


def titles(data: dict[str, Any]) -> list[str]:
    return [item["title"] for item in data["results"]]


class TestList:
    async def test_published_only_newest_first_by_publish_time(self, client, runtime):
        # ids increase in the opposite order to publish times: the list must follow the
        # publish time, from the database and from the cache alike (reference-facts §14.12).
        await add(
            runtime,
            {"title": "newest", "publish_time": BASE_TIME + timedelta(days=3)},
            {"title": "middle", "publish_time": BASE_TIME + timedelta(days=2)},
            {"title": "draft", "status": AnnouncementStatus.UNPUBLISHED},
            {"title": "withdrawn", "status": AnnouncementStatus.WITHDRAWN},
            {"title": "oldest", "publish_time": BASE_TIME},
        )
        for _ in range(2):
            data = await get_page(client)
            assert titles(data) == ["newest", "middle", "oldest"]
            assert data["total_count"] == 3 and data["page"] == 1 and data["per_page"] == 10
            announcement_service.clear_local_cache()  # the second round reads Redis

    async def test_item_fields(self, client, runtime):
        [row] = await add(runtime, {"title": "维护通知", "content": "secret body"})
        data = await get_page(client)
        assert data["results"] == [
            {"id": row.announcement_id, "title": "维护通知", "pubdate": "2024-03-01T09:30:15"}
        ]
        assert f'"id":{row.announcement_id}' in (await client.get(LIST)).text

    async def test_pubdate_falls_back_to_creation_time(self, client, runtime):
        [row] = await add(runtime, {"publish_time": None})
        [item] = (await get_page(client))["results"]
        assert item["pubdate"] == row.create_time.replace(microsecond=0).isoformat()
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", item["pubdate"])

    async def test_empty(self, client, runtime):
        assert await get_page(client) == {
            "page": 1,
            "per_page": 10,
            "results": [],
            "total_count": 0,
        }

    async def test_paging(self, client, runtime):
        await add(
            runtime,
            *(
                {"title": f"a{n:02d}", "publish_time": BASE_TIME + timedelta(hours=n)}
                for n in range(12)
            ),
        )
        newest_first = [f"a{n:02d}" for n in range(11, -1, -1)]
        assert titles(await get_page(client)) == newest_first[:10]  # default per_page 10
        second = await get_page(client, page=2)
        assert titles(second) == newest_first[10:] and second["total_count"] == 12
        pages = [titles(await get_page(client, page=n, per_page=5)) for n in (1, 2, 3)]
        assert pages == [newest_first[0:5], newest_first[5:10], newest_first[10:12]]
        beyond = await get_page(client, page=4, per_page=5)
        assert beyond == {"page": 4, "per_page": 5, "results": [], "total_count": 12}
        assert titles(await get_page(client, per_page=50)) == newest_first
        assert titles(await get_page(client, per_page=1)) == newest_first[:1]

    @pytest.mark.parametrize(
        "params",
        [
            {"page": 0},
            {"page": -2},
            {"page": "x"},
            {"page": "1.0"},
            {"page": ""},
            {"per_page": 0},
            {"per_page": 51},
            {"per_page": "ten"},
            {"per_page": "true"},
        ],
    )
    async def test_bad_paging_is_400(self, client, params):
        assert_error(await client.get(LIST, params=params), 400)

    async def test_ignores_authorization(self, client, runtime):
        await add(runtime, {"title": "t"})
        for header in ("Bearer not-a-jwt", "Anony device", "Basic x"):
            response = await client.get(LIST, headers={"Authorization": header})
            assert response.status_code == 200
            assert response.json()["data"]["total_count"] == 1

    async def test_cached_then_forgotten(self, client, runtime):
        [row] = await add(runtime, {"title": "first"})
        await get_page(client)
        ttl = await runtime.cache.ttl(announcement_service.LIST_KEY)
        assert 172800 - 5 <= ttl <= 172800  # fixed, no jitter
        with count_queries(runtime.db.engines()) as queries:
            assert titles(await get_page(client)) == ["first"]  # L1
            announcement_service.clear_local_cache()
            assert titles(await get_page(client)) == ["first"]  # Redis
        assert queries.count == 0
        await add(runtime, {"title": "second", "publish_time": BASE_TIME + timedelta(days=1)})
        announcement_service.clear_local_cache()
        assert titles(await get_page(client)) == ["first"]  # staff must call forget()
        await announcement_service.forget(runtime.cache, row.announcement_id)
        assert titles(await get_page(client)) == ["second", "first"]


class TestDetail:
    async def test_detail(self, client, runtime):
        [row] = await add(runtime, {"title": "标题", "content": "<p>内容</p>"})
        response = await client.get(f"{LIST}/{row.announcement_id}")
        assert response.status_code == 200
        assert response.json() == {
            "message": "OK",
            "data": {
                "id": row.announcement_id,
                "title": "标题",
                "content": "<p>内容</p>",
                "pubdate": "2024-03-01T09:30:15",
            },
        }

    async def test_detail_is_cached(self, client, runtime):
        [row] = await add(runtime, {"title": "cached"})
        url = f"{LIST}/{row.announcement_id}"
        assert (await client.get(url)).status_code == 200
        key = announcement_service.detail_key(row.announcement_id)
        assert 7200 <= await runtime.cache.ttl(key) <= 7800
        announcement_service.clear_local_cache()
        with count_queries(runtime.db.engines()) as queries:
            assert (await client.get(url)).json()["data"]["title"] == "cached"
        assert queries.count == 0

    @pytest.mark.parametrize(
        "status", [AnnouncementStatus.UNPUBLISHED, AnnouncementStatus.WITHDRAWN]
    )
    async def test_unpublished_is_400(self, client, runtime, status):
        [row] = await add(runtime, {"status": status})
        assert_error(await client.get(f"{LIST}/{row.announcement_id}"), 400)

    async def test_unknown_is_400_and_cached_as_absent(self, client, runtime):
        assert_error(await client.get(f"{LIST}/987654"), 400)
        key = announcement_service.detail_key(987654)
        assert await runtime.cache.get(key) == ABSENT
        assert 300 <= await runtime.cache.ttl(key) <= 360
        announcement_service.clear_local_cache()
        with count_queries(runtime.db.engines()) as queries:
            assert_error(await client.get(f"{LIST}/987654"), 400)
        assert queries.count == 0
        assert_error(await client.get(f"{LIST}/9999999999999999999"), 400)

    async def test_withdrawn_after_forget_is_400(self, client, runtime):
        [row] = await add(runtime, {"title": "soon gone"})
        url = f"{LIST}/{row.announcement_id}"
        assert (await client.get(url)).status_code == 200
        async with runtime.db.session() as session:
            await session.execute(
                update(Announcement)
                .where(Announcement.announcement_id == row.announcement_id)
                .values(status=AnnouncementStatus.WITHDRAWN)
            )
            await session.commit()
        await announcement_service.forget(runtime.cache, row.announcement_id)
        assert_error(await client.get(url), 400)
        assert (await get_page(client))["total_count"] == 0

    @pytest.mark.parametrize("path", ["abc", "0", "-1", "1.5"])
    async def test_path_that_does_not_match_is_404(self, client, path):
        assert_error(await client.get(f"{LIST}/{path}"), 404)


async def test_route_map_names(client):
    routes = (await client.get("/app/")).json()
    assert routes["notice.announcements"] == "/v1_0/announcements"
    assert routes["notice.announcement"] == "/v1_0/announcements/<target>"
