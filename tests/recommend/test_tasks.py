from __future__ import annotations

import asyncio
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from toutiao.recommend import keys
from toutiao.recommend.tasks import RECOMMEND_JOBS, Job, LeaderLock, schedule
from toutiao.runtime import Runtime


class TestLeaderLock:
    async def test_one_holder_at_a_time(self, runtime: Runtime) -> None:
        first, second = LeaderLock(runtime.store, "t"), LeaderLock(runtime.store, "t")
        assert await first.acquire_or_renew()
        assert not await second.acquire_or_renew()
        assert await first.acquire_or_renew()  # renewal
        await first.release()
        assert await second.acquire_or_renew()
        await first.release()  # not the holder any more: a no-op
        assert await runtime.store.get(keys.lock("t")) == second.token

    async def test_an_expired_leader_is_replaced_and_notices(self, runtime: Runtime) -> None:
        first = LeaderLock(runtime.store, "t", ttl_ms=100)
        second = LeaderLock(runtime.store, "t", ttl_ms=100)
        assert await first.acquire_or_renew()
        await asyncio.sleep(0.25)
        assert await second.acquire_or_renew()
        assert not await first.acquire_or_renew()
        assert first.held is False


class TestSchedule:
    async def test_jobs_run_only_in_the_leader(self, runtime: Runtime) -> None:
        runs: list[str] = []

        def job_for(name: str) -> Job:
            async def work(db: Any, redis: Any) -> None:
                runs.append(name)

            return Job("test.job", work, "interval", {"hours": 1}, run_at_start=True)

        schedulers = [AsyncIOScheduler(), AsyncIOScheduler()]
        leaders = [
            schedule(s, runtime.db, runtime.store, jobs=[job_for(f"p{i}")])
            for i, s in enumerate(schedulers)
        ]
        for s in schedulers:
            s.start()
        try:
            for _ in range(50):
                if runs:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
        finally:
            for s in schedulers:
                s.shutdown(wait=False)
            for leader in leaders:
                await leader.release()
        assert len(runs) == 1
        assert sum(leader.held for leader in leaders) == 0  # released

    def test_the_recommender_registers_its_jobs(self, runtime: Runtime) -> None:
        scheduler = AsyncIOScheduler()
        schedule(scheduler, runtime.db, runtime.store)
        ids = {job.id for job in scheduler.get_jobs()}
        assert ids == {"scheduler.leader:reco:lock:scheduler", *(j.name for j in RECOMMEND_JOBS)}

    def test_one_lock_object_and_renewal_per_lock_name(self, runtime: Runtime) -> None:
        async def other(db: Any, redis: Any) -> None:
            return None

        def job(name: str) -> list[Job]:
            return [Job(name, other, "cron", {"hour": 3})]

        scheduler = AsyncIOScheduler()
        db, store = runtime.db, runtime.store
        first = schedule(scheduler, db, store)
        again = schedule(scheduler, db, store, jobs=job("a"))
        stats = schedule(scheduler, db, store, jobs=job("b"), leader=LeaderLock(store, "stats"))
        assert first is again and stats is not first and stats.key == keys.lock("stats")
        renewals = sorted(j.id for j in scheduler.get_jobs() if j.id.startswith("scheduler.leader"))
        assert renewals == [
            "scheduler.leader:reco:lock:scheduler",
            "scheduler.leader:reco:lock:stats",
        ]
