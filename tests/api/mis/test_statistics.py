"""Statistics endpoints (mis.md M51-M56) over HTTP: what the app did, as staff read it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.mis.helpers import assert_error, log_count
from toutiao.models import StatisticsReadSourceTotal, StatisticsSalesTotal
from toutiao.models.base import local_now
from toutiao.stats import activity, rollup

BASE = "/mis/v1_0"
ENDPOINTS = {
    "statistics_basic?type=read": "statistics-basic-get",
    "statistics_search": "statistics-search-get",
    "statistics_search_total": "statistics-search-total-get",
    "statistics_sales_total": "statistics-sales-total-get",
    "statistics_read_source_total": "statistics-read-source-total-get",
    "statistics_dashboard": "statistics-dashboard-get",
}


async def roll(runtime) -> None:
    await activity.flush(runtime.store)
    await rollup.rollup_job(runtime.db, runtime.store)


@pytest.mark.parametrize(("path", "code"), ENDPOINTS.items())
async def test_each_needs_its_code(client, staff, path, code):
    others = [c for c in ENDPOINTS.values() if c != code]
    refused = await client.get(f"{BASE}/{path}", headers=await staff.headers(*others))
    assert_error(refused, 403)
    assert_error(await client.get(f"{BASE}/{path}"), 401)
    allowed = await client.get(f"{BASE}/{path}", headers=await staff.headers(code))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["message"] == "OK"


async def test_reads_record_no_log_row(client, runtime, staff):
    headers = await staff.headers(*ENDPOINTS.values())
    for path in ENDPOINTS:
        assert (await client.get(f"{BASE}/{path}", headers=headers)).status_code == 200
    assert await log_count(runtime) == 0


class TestBasic:
    async def test_summary_and_series_follow_app_reads(self, client, runtime, staff, factory):
        author = await factory.user()
        (channel,) = await factory.channels(["科技"])
        article_id = await factory.article(author.user_id, channel.channel_id)
        for _ in range(3):
            assert (await client.get(f"/app/v1_0/articles/{article_id}")).status_code == 200
        await roll(runtime)
        headers = await staff.headers("statistics-basic-get")
        summary = await client.get(f"{BASE}/statistics_basic?type=read", headers=headers)
        data = summary.json()["data"]
        assert set(data) == {
            "total_count",
            "day_count",
            "day_percent",
            "week_percent",
            "total_days",
            "day_average",
        }
        assert (data["total_count"], data["day_count"], data["total_days"]) == (3, 3, 1)
        assert data["day_percent"] == 300.0 and data["day_average"] == 3.0
        today = local_now().date()
        start = (today - timedelta(days=1)).isoformat()
        days = await client.get(
            f"{BASE}/statistics_basic",
            params={"type": "read", "size": "day", "begin": start, "end": today.isoformat()},
            headers=headers,
        )
        assert days.json()["data"] == [
            {"date": start, "count": 0},
            {"date": today.isoformat(), "count": 3},
        ]
        hours = await client.get(
            f"{BASE}/statistics_basic",
            params={
                "type": "new_user",
                "size": "hour",
                "begin": today.isoformat(),
                "end": today.isoformat(),
            },
            headers=headers,
        )
        series = hours.json()["data"]
        assert len(series) == 24 and sum(h["count"] for h in series) == 1
        assert series[0]["date_time"] == f"{today.isoformat()} 00:00:00"
        months = await client.get(
            f"{BASE}/statistics_basic", params={"type": "read", "size": "month"}, headers=headers
        )
        assert [m["month"] for m in months.json()["data"]] == list(range(1, 13))

    @pytest.mark.parametrize(
        "params",
        [
            {},
            {"type": "sales"},
            {"type": "READ"},
            {"type": "read", "size": "week"},
            {"type": "read", "size": "day", "begin": "2026-01-01"},
            {"type": "read", "size": "day", "begin": "2026-01-02", "end": "2026-01-01"},
            {"type": "read", "size": "day", "begin": "2026-13-01", "end": "2026-01-01"},
            {"type": "read", "size": "day", "begin": "2024-01-01", "end": "2026-01-01"},
            {"type": "read", "size": "hour", "begin": "2026-01-01", "end": "2026-02-01"},
        ],
    )
    async def test_bad_parameters(self, client, staff, params):
        headers = await staff.headers("statistics-basic-get")
        assert_error(
            await client.get(f"{BASE}/statistics_basic", params=params, headers=headers), 400
        )

    async def test_original_day_format(self, client, staff):
        headers = await staff.headers("statistics-basic-get")
        response = await client.get(
            f"{BASE}/statistics_basic",
            params={"type": "forward", "size": "day", "begin": "2019-1-30", "end": "2019-2-1"},
            headers=headers,
        )
        assert [d["date"] for d in response.json()["data"]] == [
            "2019-01-30",
            "2019-01-31",
            "2019-02-01",
        ]


class TestSearch:
    async def test_keywords_and_totals(self, client, runtime, staff):
        for who, q in (("a", "Python"), ("b", "python "), ("a", "rust")):
            activity.buffer().search(q, who)
        await roll(runtime)
        headers = await staff.headers("statistics-search-get", "statistics-search-total-get")
        ranked = (await client.get(f"{BASE}/statistics_search", headers=headers)).json()["data"]
        assert ranked["total_count"] == 2 and ranked["page"] == 1 and ranked["per_page"] == 20
        assert ranked["keywords"][0] == {
            "keyword": "python",
            "user_count": 2,
            "week_percent": 200.0,
            "count": 2,
        }
        filtered = await client.get(
            f"{BASE}/statistics_search", params={"keyword": "RU"}, headers=headers
        )
        assert [k["keyword"] for k in filtered.json()["data"]["keywords"]] == ["rust"]
        totals = (await client.get(f"{BASE}/statistics_search_total", headers=headers)).json()
        assert totals["data"] == {"count": 3, "search_user_count": 2, "user_count": 0}

    async def test_paging_rules(self, client, staff):
        headers = await staff.headers("statistics-search-get")
        for params in ({"per_page": 5}, {"page": 0}, {"per_page": 51}):
            response = await client.get(f"{BASE}/statistics_search", params=params, headers=headers)
            assert_error(response, 400)


class TestTotals:
    async def test_sales_skip_unknown_areas(self, client, runtime, staff):
        headers = await staff.headers("statistics-sales-total-get")
        empty = await client.get(f"{BASE}/statistics_sales_total", headers=headers)
        assert empty.json()["data"] == {"area_sales": [], "total_money": 0}
        async with runtime.db.session() as session:
            session.add_all(
                [
                    StatisticsSalesTotal(area=1, money=500),
                    StatisticsSalesTotal(area=3, money=900),
                    StatisticsSalesTotal(area=42, money=7),
                ]
            )
            await session.commit()
        data = (await client.get(f"{BASE}/statistics_sales_total", headers=headers)).json()["data"]
        assert data == {
            "area_sales": [
                {"area": 3, "area_name": "深圳", "money": 900},
                {"area": 1, "area_name": "北京", "money": 500},
            ],
            "total_money": 1400,
        }

    async def test_read_sources_skip_unknown_codes(self, client, runtime, staff):
        async with runtime.db.session() as session:
            session.add_all(
                [
                    StatisticsReadSourceTotal(
                        source=2, count=3, count_20_down=1, count_20_80=1, count_80_up=1
                    ),
                    StatisticsReadSourceTotal(source=9, count=100),
                ]
            )
            await session.commit()
        headers = await staff.headers("statistics-read-source-total-get")
        data = (await client.get(f"{BASE}/statistics_read_source_total", headers=headers)).json()
        assert data["data"] == {
            "read_sources": [
                {
                    "source": 2,
                    "source_name": "频道",
                    "count": 3,
                    "count_20_down": 1,
                    "count_20_80": 1,
                    "count_80_up": 1,
                }
            ],
            "total_read_count": 3,
        }


class TestDashboard:
    async def test_shape_and_range(self, client, runtime, staff, factory):
        await factory.user()
        await roll(runtime)
        headers = await staff.headers("statistics-dashboard-get")
        data = (await client.get(f"{BASE}/statistics_dashboard", headers=headers)).json()["data"]
        assert set(data) == {"totals", "pending", "daily"}
        assert data["totals"]["user_count"] == 1 and len(data["daily"]) == 7
        assert data["daily"][-1]["new_users"] == 1
        assert set(data["daily"][0]) == {
            "date",
            "new_users",
            "active_users",
            "new_articles",
            "approved_articles",
            "comments",
            "reads",
            "searches",
        }
        picked = await client.get(
            f"{BASE}/statistics_dashboard",
            params={"begin": "2026-01-01", "end": "2026-01-03"},
            headers=headers,
        )
        assert [d["date"] for d in picked.json()["data"]["daily"]] == [
            "2026-01-01",
            "2026-01-02",
            "2026-01-03",
        ]
        for params in (
            {"begin": "2026-01-01", "end": "2026-06-01"},
            {"begin": "2026-01-03", "end": "2026-01-01"},
            {"begin": "yesterday"},
        ):
            response = await client.get(
                f"{BASE}/statistics_dashboard", params=params, headers=headers
            )
            assert_error(response, 400)
