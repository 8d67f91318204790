"""Site statistics (mis.md §5): app traffic counted, flushed, rolled up, read back."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, update

from tests.fixtures.factories import Factory
from tests.search.helpers import own_engine
from toutiao.kit.db import count_queries
from toutiao.models import StatisticsBasic, StatisticsSearch, StatisticsSearchTotal, UserProfile
from toutiao.models.base import local_now
from toutiao.models.enums import ArticleStatus, ReadSource, StatisticsType, UserStatus
from toutiao.runtime import Runtime
from toutiao.search import indexer
from toutiao.stats import activity, figures, keys, rollup
from toutiao.worker.schedule import schedule_tasks

BASE = "/app/v1_0"


@pytest.fixture(autouse=True)
def empty_buffer() -> None:
    activity.clear()


async def rows(runtime: Runtime, metric: StatisticsType) -> int:
    async with runtime.db.read_session() as session:
        found = await session.scalars(select(StatisticsBasic).where(StatisticsBasic.type == metric))
        return sum(r.count for r in found)


async def flush(runtime: Runtime) -> None:
    async def expected(ids: list[int]) -> dict[int, float]:
        return await rollup.expected_reading_seconds(runtime.db, ids)

    await activity.flush(runtime.store, expected)


class TestTraffic:
    async def test_requests_viewers_and_ips(
        self, client: httpx.AsyncClient, runtime: Runtime, factory: Factory
    ) -> None:
        reader = await factory.user()
        await factory.channels(["科技"])
        for _ in range(3):  # one logged-in reader, three requests
            await client.get(f"{BASE}/user/channels", headers=factory.headers(reader.user_id))
        await client.get(f"{BASE}/channels", headers={"Authorization": "Anony device-1"})
        await client.get(f"{BASE}/channels")  # nobody: counts as a request and an IP only
        await flush(runtime)
        await client.get(f"{BASE}/channels", headers={"Authorization": "Anony device-1"})
        await flush(runtime)  # seen earlier today: not active a second time
        await rollup.rollup_job(runtime.db, runtime.store)
        assert await rows(runtime, StatisticsType.ACCESS) == 6
        assert await rows(runtime, StatisticsType.DAY_ACTIVATE) == 2
        assert await rows(runtime, StatisticsType.ACCESS_IP) == 1
        assert await rows(runtime, StatisticsType.NEW_USER) == 1  # the reader's profile

    async def test_bad_token_is_not_a_viewer(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        response = await client.get(f"{BASE}/channels", headers={"Authorization": "Bearer x.y.z"})
        assert response.status_code in (200, 401)
        await flush(runtime)
        await rollup.rollup_job(runtime.db, runtime.store)
        assert await rows(runtime, StatisticsType.ACCESS) == 1
        assert await rows(runtime, StatisticsType.DAY_ACTIVATE) == 0

    async def test_reads_and_searches(
        self, client: httpx.AsyncClient, runtime: Runtime, factory: Factory, tmp_path: Path
    ) -> None:
        author = await factory.user()
        (channel,) = await factory.channels(["科技"])
        article_id = await factory.article(author.user_id, channel.channel_id, title="火箭回收")
        async with own_engine(runtime, tmp_path / "index"):
            await indexer.sync_articles(runtime, [article_id])
            for device in ("a", "b"):
                anon = {"Authorization": f"Anony {device}"}
                await client.get(f"{BASE}/search", params={"q": " 火箭 "}, headers=anon)
            await client.get(f"{BASE}/search", params={"q": "火箭", "page": 2})  # not a search
            await client.get(f"{BASE}/search", params={"q": "Rocket"})  # by IP
        await client.get(f"{BASE}/articles/{article_id}")
        await client.get(f"{BASE}/articles/{article_id}")
        await client.get(f"{BASE}/articles/999")  # 404: not a read
        await flush(runtime)
        await rollup.rollup_job(runtime.db, runtime.store)
        assert await rows(runtime, StatisticsType.READ) == 2
        assert await rows(runtime, StatisticsType.SEARCH) == 3
        assert await rows(runtime, StatisticsType.SEARCH_USER) == 3
        async with runtime.db.read_session() as session:
            hourly = {
                r.keyword: (r.count, r.user_count)
                for r in await session.scalars(select(StatisticsSearch))
            }
            totals = {
                r.keyword: (r.count, r.user_count)
                for r in await session.scalars(select(StatisticsSearchTotal))
            }
            ranked = await figures.search_keywords(session, None, page=1, per_page=20)
            overall = await figures.search_totals(session, runtime.store)
        assert hourly == {"火箭": (2, 2), "rocket": (1, 1)}
        assert totals == hourly
        assert [k["keyword"] for k in ranked["keywords"]] == ["火箭", "rocket"]
        assert ranked["keywords"][0]["week_percent"] == 200.0  # 2 searchers against none
        assert overall == {"count": 3, "search_user_count": 3, "user_count": 1}

    async def test_read_durations_by_source(
        self, client: httpx.AsyncClient, runtime: Runtime, factory: Factory
    ) -> None:
        author = await factory.user()
        (channel,) = await factory.channels(["科技"])
        # 400 characters: 50 s expected reading time
        article_id = await factory.article(
            author.user_id, channel.channel_id, content=f"<p>{'字' * 400}</p>"
        )
        reports = [
            ('{"action":"read","channelId":0}', 45),  # recommended, 90 %
            ('{"action":"read","channelId":3}', 20),  # channel, 40 %
            ('{"action":"read","channelId":3}', 5),  # channel, 10 %
            ("opaque", 50),  # other
        ]
        for trace, seconds in reports:
            response = await client.post(
                f"{BASE}/reading/durations",
                json={"art_id": article_id, "duration": seconds},
                headers={"Trace": trace},
            )
            assert response.status_code == 201, response.text
        await flush(runtime)
        await rollup.rollup_job(runtime.db, runtime.store)
        async with runtime.db.read_session() as session:
            data = await figures.read_sources(session)
        assert data["total_read_count"] == 4
        by_source = {item["source"]: item for item in data["read_sources"]}
        assert data["read_sources"][0]["source"] == ReadSource.CHANNEL
        assert by_source[ReadSource.CHANNEL]["count_20_80"] == 1
        assert by_source[ReadSource.CHANNEL]["count_20_down"] == 1
        assert by_source[ReadSource.RECOMMEND]["count_80_up"] == 1
        assert by_source[ReadSource.OTHER]["source_name"] == "其他"


class TestRollup:
    async def test_rerun_gives_the_same_rows(self, runtime: Runtime) -> None:
        now = local_now()
        for _ in range(5):
            activity.buffer().read(now)
        await activity.flush(runtime.store)
        await rollup.rollup_job(runtime.db, runtime.store)
        await rollup.rollup_job(runtime.db, runtime.store)
        assert await rows(runtime, StatisticsType.READ) == 5

    async def test_backfill_any_range(self, runtime: Runtime, factory: Factory) -> None:
        user = await factory.user()
        signed_up = datetime(2026, 1, 10, 14, 30)
        async with runtime.db.session() as session:
            await session.execute(
                update(UserProfile)
                .where(UserProfile.user_id == user.user_id)
                .values(create_time=signed_up)
            )
            await session.commit()
        activity.buffer().read(datetime(2026, 1, 11, 8, 5))
        await activity.flush(runtime.store)
        report = await rollup.backfill(
            runtime.db, runtime.store, date(2026, 1, 9), date(2026, 1, 12)
        )
        assert report.hours == 4 * 24 and report.basic_rows == 2
        async with runtime.db.read_session() as session:
            found = {
                (r.type, r.date_time): r.count
                for r in await session.scalars(select(StatisticsBasic))
            }
            days = await figures.series(
                session, StatisticsType.NEW_USER, "day", date(2026, 1, 9), date(2026, 1, 11)
            )
        assert found == {
            (StatisticsType.NEW_USER, datetime(2026, 1, 10, 14)): 1,
            (StatisticsType.READ, datetime(2026, 1, 11, 8)): 1,
        }
        assert [d["count"] for d in days] == [0, 1, 0]

    async def test_scheduled_under_the_leader_lock(self, runtime: Runtime) -> None:
        scheduler = AsyncIOScheduler()
        schedule_tasks(scheduler, runtime)
        job = scheduler.get_job("stats.rollup")
        assert job is not None and job.trigger.interval == timedelta(minutes=5)
        # The leader wrapper: a process that cannot take the lock does not enqueue the task
        # (the tests' local:// task tier runs what is enqueued at once).
        await runtime.store.set("reco:lock:task-scheduler", "someone-else", px=30_000)
        activity.buffer().read()
        await activity.flush(runtime.store)
        await job.func()
        assert await rows(runtime, StatisticsType.READ) == 0
        await runtime.store.delete("reco:lock:task-scheduler")
        await job.func()
        assert await rows(runtime, StatisticsType.READ) == 1


class TestFigures:
    async def test_summary(self, runtime: Runtime) -> None:
        now = local_now()
        yesterday = now - timedelta(days=1)
        for moment, amount in ((now, 3), (yesterday, 2), (now - timedelta(days=9), 4)):
            for _ in range(amount):
                activity.buffer().read(moment)
        await activity.flush(runtime.store)
        await rollup.backfill(
            runtime.db, runtime.store, (now - timedelta(days=9)).date(), now.date()
        )
        async with runtime.db.read_session() as session:
            found = await figures.summary(session, StatisticsType.READ)
            hours = await figures.series(
                session, StatisticsType.READ, "hour", now.date(), now.date()
            )
            months = await figures.series(
                session, StatisticsType.READ, "month", now.date(), now.date()
            )
        assert found["total_count"] == 9 and found["day_count"] == 3
        assert found["day_percent"] == 50.0
        assert found["week_percent"] == round((5 - 4) / 4 * 100, 2)
        assert found["total_days"] == 10 and found["day_average"] == 0.9
        assert len(hours) == 24 and hours[now.hour]["count"] == 3
        assert sum(m["count"] for m in months) == sum(
            a
            for m, a in ((now, 3), (yesterday, 2), (now - timedelta(days=9), 4))
            if m.year == now.year
        )

    async def test_empty_and_bad_requests(self, runtime: Runtime) -> None:
        async with runtime.db.read_session() as session:
            empty = await figures.summary(session, StatisticsType.FORWARD)
            assert empty["total_days"] == 0 and empty["day_average"] == 0
            for begin, end, size in (
                (date(2026, 1, 2), date(2026, 1, 1), "day"),
                (date(2025, 1, 1), date(2026, 1, 2), "day"),
                (date(2026, 1, 1), date(2026, 2, 1), "hour"),
            ):
                with pytest.raises(figures.BadRequest):
                    await figures.series(session, StatisticsType.READ, size, begin, end)
        with pytest.raises(figures.BadRequest):
            figures.metric_of("DAY_ACTIVATE")
        assert figures.metric_of("day_activate") == StatisticsType.DAY_ACTIVATE

    def test_read_source_of_tokens(self) -> None:
        assert activity.read_source('{"channelId": 0}') == ReadSource.RECOMMEND
        assert activity.read_source('{"channelId": "7"}') == ReadSource.CHANNEL
        assert activity.read_source('{"source": "related"}') == ReadSource.RELATED
        assert activity.read_source("[1]") == ReadSource.OTHER
        assert activity.read_source("eyJjaGFubmVsX2lkIjogMn0=") == ReadSource.CHANNEL  # base64
        assert activity.read_source("{") == ReadSource.OTHER
        assert keys.hour_id(datetime(2026, 3, 4, 5)) == "2026030405"


class TestDashboard:
    async def test_live_counts_and_daily_rows(self, runtime: Runtime, factory: Factory) -> None:
        author = await factory.user(is_media=True)
        await factory.user(status=UserStatus.DISABLED, is_verified=True)
        (channel,) = await factory.channels(["科技"])
        for status in (ArticleStatus.DRAFT, ArticleStatus.PENDING, ArticleStatus.APPROVED):
            await factory.article(author.user_id, channel.channel_id, status=status)
        activity.buffer().read()
        await activity.flush(runtime.store)
        await rollup.rollup_job(runtime.db, runtime.store)
        async with runtime.db.read_session() as session:
            data = await figures.dashboard(session, figures.DayRange.dashboard(None, None))
        assert data["totals"] == {
            "user_count": 2,
            "frozen_user_count": 1,
            "media_user_count": 1,
            "verified_user_count": 1,
            "approved_article_count": 1,
            "visible_channel_count": 1,
        }
        assert data["pending"] == {
            "article_count": 1,
            "legalize_count": 0,
            "report_article_count": 0,
            "comment_count": 0,
        }
        assert len(data["daily"]) == 7
        today = data["daily"][-1]
        assert today["date"] == local_now().date().isoformat()
        assert (today["new_users"], today["reads"], today["new_articles"]) == (2, 1, 2)
        with pytest.raises(figures.BadRequest):
            figures.DayRange.dashboard(date(2026, 1, 1), date(2026, 6, 1))

    async def test_three_statements_whatever_the_range(self, runtime: Runtime) -> None:
        for days in (1, 92):
            first = local_now().date() - timedelta(days=days - 1)
            async with runtime.db.read_session() as session:
                with count_queries(runtime.db.engines()) as found:
                    await figures.dashboard(session, figures.DayRange.dashboard(first, None))
            assert found.count == 3, found.statements
