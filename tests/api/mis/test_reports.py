"""Reports filed in the app (E46) and processed by staff (mis.md M42-M44)."""

from __future__ import annotations

import pytest

from tests.api.mis.helpers import assert_error, log_rows

BASE = "/mis/v1_0"
REPORTS = f"{BASE}/reports"


async def file_report(client, factory, reader_id: int, article_id: int, kind: int, remark=None):
    response = await client.post(
        "/app/v1_0/article/reports",
        json={"target": article_id, "type": kind, "remark": remark},
        headers=factory.headers(reader_id),
    )
    assert response.status_code == 201, response.text


@pytest.fixture
async def reported(client, factory):
    author = await factory.user(name="作者")
    (tech,) = await factory.channels(["科技"])
    first = await factory.article(author.user_id, tech.channel_id, title="一")
    second = await factory.article(author.user_id, tech.channel_id, title="二")
    readers = [await factory.user(name=f"读者{i}") for i in range(3)]
    await file_report(client, factory, readers[0].user_id, first, 0, "太夸张")
    await file_report(client, factory, readers[1].user_id, first, 2)
    await file_report(client, factory, readers[2].user_id, first, 2)
    await file_report(client, factory, readers[0].user_id, second, 5)
    return {"author": author, "first": first, "second": second, "readers": readers}


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("GET", REPORTS, None, "report-list-get"),
        ("GET", f"{REPORTS}/articles", None, "report-list-get"),
        ("PUT", REPORTS, {"report_ids": [1], "status": 1}, "report-list-put"),
    ],
)
async def test_each_needs_its_code(client, staff, method, path, body, code):
    other = "report-list-put" if code == "report-list-get" else "report-list-get"
    refused = await client.request(method, path, json=body, headers=await staff.headers(other))
    assert_error(refused, 403)
    assert_error(await client.request(method, path, json=body), 401)


class TestList:
    async def test_items_and_filters(self, client, staff, reported):
        headers = await staff.headers("report-list-get")
        data = (await client.get(REPORTS, headers=headers)).json()["data"]
        assert data["total_count"] == 4
        newest = data["reports"][0]
        assert set(newest) == {
            "report_id",
            "article_id",
            "article_title",
            "article_status",
            "user_id",
            "user_name",
            "type",
            "remark",
            "status",
            "handler_id",
            "handle_time",
            "create_time",
        }
        assert (newest["article_title"], newest["type"], newest["status"]) == ("二", 5, 0)
        by_id = (await client.get(REPORTS, params={"order_by": "id"}, headers=headers)).json()
        first = by_id["data"]["reports"][0]
        assert (first["remark"], first["user_name"], first["article_status"]) == (
            "太夸张",
            "读者0",
            2,
        )
        for params, count in (
            ({"type": 2}, 2),
            ({"article_id": str(reported["second"])}, 1),
            ({"status": 1}, 0),
            ({"begin": "2000-01-01", "end": "2999-01-01"}, 4),
            ({"end": "2000-01-01"}, 0),
        ):
            found = await client.get(REPORTS, params=params, headers=headers)
            assert found.json()["data"]["total_count"] == count, params

    @pytest.mark.parametrize(
        "params",
        [
            {"status": 3},
            {"type": 9},
            {"type": "x"},
            {"article_id": "0"},
            {"order_by": "time"},
            {"begin": "2026-01-02", "end": "2026-01-01"},
            {"begin": "soon"},
        ],
    )
    async def test_bad_parameters(self, client, staff, params):
        headers = await staff.headers("report-list-get")
        assert_error(await client.get(REPORTS, params=params, headers=headers), 400)

    async def test_queue_grouped_by_article(self, client, staff, reported):
        headers = await staff.headers("report-list-get")
        data = (await client.get(f"{REPORTS}/articles", headers=headers)).json()["data"]
        assert data["total_count"] == 2
        top = data["articles"][0]
        assert top["article_id"] == reported["first"] and top["report_count"] == 3
        assert top["type_counts"] == [{"type": 0, "count": 1}, {"type": 2, "count": 2}]
        assert (top["author_name"], top["channel_name"], top["article_status"]) == (
            "作者",
            "科技",
            2,
        )
        assert top["latest_report_time"]
        handled = await client.get(f"{REPORTS}/articles", params={"status": 1}, headers=headers)
        assert handled.json()["data"] == {
            "articles": [],
            "total_count": 0,
            "page": 1,
            "per_page": 20,
        }
        assert_error(
            await client.get(f"{REPORTS}/articles", params={"status": 5}, headers=headers), 400
        )


class TestProcess:
    async def test_handle_by_ids_and_dismiss_by_article(self, client, runtime, staff, reported):
        member = await staff.member(["report-list-get", "report-list-put"])
        headers = staff.headers_for(member)
        listed = (await client.get(REPORTS, params={"order_by": "id"}, headers=headers)).json()
        ids = [r["report_id"] for r in listed["data"]["reports"]]
        done = await client.put(
            REPORTS, json={"report_ids": [ids[0], str(ids[1])], "status": 1}, headers=headers
        )
        assert done.status_code == 201 and done.json()["data"] == {"count": 2}
        again = await client.put(
            REPORTS, json={"report_ids": [ids[0]], "status": 2}, headers=headers
        )
        assert again.json()["data"] == {"count": 0}  # already processed: skipped
        dismissed = await client.put(
            REPORTS, json={"article_ids": [reported["first"]], "status": 2}, headers=headers
        )
        assert dismissed.json()["data"] == {"count": 1}
        rows = (await client.get(REPORTS, params={"order_by": "id"}, headers=headers)).json()[
            "data"
        ]["reports"]
        assert [r["status"] for r in rows] == [1, 1, 2, 0]
        assert rows[0]["handler_id"] == member.administrator_id and rows[0]["handle_time"]
        assert [r.operation for r in await log_rows(runtime)] == [
            "report.handle",
            "report.dismiss",
            "report.dismiss",
        ]

    async def test_bad_bodies(self, client, runtime, staff, reported):
        headers = await staff.headers("report-list-put")
        for body in (
            {"status": 1},
            {"report_ids": [1], "article_ids": [reported["first"]], "status": 1},
            {"report_ids": [1], "status": 0},
            {"report_ids": [], "status": 1},
            {"report_ids": list(range(1, 102)), "status": 1},
            {"report_ids": [999999], "status": 1},
            {"article_ids": [123], "status": 1},
            {"report_ids": [1], "status": "1x"},
        ):
            assert_error(await client.put(REPORTS, json=body, headers=headers), 400)
        assert await log_rows(runtime) == []
