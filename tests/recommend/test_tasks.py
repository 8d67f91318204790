from __future__ import annotations

import asyncio
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from toutiao.kit.lease import LeaderLock
from toutiao.recommend import keys
from toutiao.recommend.tasks import RECOMMEND_JOBS, Job, schedule
from toutiao.runtime import Runtime


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
        stats = schedule(
            scheduler, db, store, jobs=job("b"), leader=LeaderLock(store, keys.lock("stats"))
        )
        assert first is again and stats is not first and stats.key == keys.lock("stats")
        renewals = sorted(j.id for j in scheduler.get_jobs() if j.id.startswith("scheduler.leader"))
        assert renewals == [
            "scheduler.leader:reco:lock:scheduler",
            "scheduler.leader:reco:lock:stats",
        ]
