"""Every task the tier runs: its name, the domain coroutine behind it, and its retry policy.

A task body is ``async def job(runtime, *args)`` with JSON-able arguments. Bodies are
idempotent (they re-read the database), so a redelivered or repeated message is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toutiao.engines.tasks import JobFunc


@dataclass(frozen=True)
class TaskSpec:
    func: JobFunc
    max_retries: int = 5
    backoff_max: int = 300  # seconds: retries wait 1, 2, 4, ... up to this (with jitter)


async def send_sms_code(runtime: Any, mobile: str, code: str) -> None:
    from toutiao.user.service import deliver_sms_code

    await deliver_sms_code(runtime, mobile, code)


async def search_index(runtime: Any, article_ids: list[int]) -> None:
    from toutiao.search.tasks import index_articles

    await index_articles(runtime, article_ids)


async def search_remove(runtime: Any, article_ids: list[int]) -> None:
    from toutiao.search.tasks import remove_articles

    await remove_articles(runtime, article_ids)


async def search_trim(runtime: Any) -> None:
    from toutiao.search.service import trim_popular

    await trim_popular(runtime.store)


async def stats_fix(runtime: Any) -> None:
    from toutiao.stats.tasks import reconcile_job

    await reconcile_job(runtime.db, runtime.store)


async def stats_rollup(runtime: Any) -> None:
    from toutiao.stats.rollup import rollup_job

    await rollup_job(runtime.db, runtime.store)


async def content_sweep(runtime: Any) -> None:
    from toutiao.content.tasks import sweep_job

    await sweep_job(runtime)


async def similar_refresh(runtime: Any) -> None:
    from toutiao.recommend.similar import refresh_similarity

    await refresh_similarity(runtime.db, runtime.store)


async def similar_sync(runtime: Any, article_ids: list[int]) -> None:
    from toutiao.recommend.similar import sync_similarity

    await sync_similarity(runtime.db, runtime.store, [int(a) for a in article_ids])


async def similar_rebuild(runtime: Any) -> None:
    from toutiao.recommend.similar import rebuild_similarity

    await rebuild_similarity(runtime.db, runtime.store)


TASKS: dict[str, TaskSpec] = {
    "sms.send_code": TaskSpec(send_sms_code, max_retries=3, backoff_max=30),
    "search.index": TaskSpec(search_index, max_retries=10),
    "search.remove": TaskSpec(search_remove, max_retries=10),
    "search.trim_popular": TaskSpec(search_trim, max_retries=1),
    "stats.fix": TaskSpec(stats_fix, max_retries=5),
    "stats.rollup": TaskSpec(stats_rollup, max_retries=2),
    "content.sweep": TaskSpec(content_sweep, max_retries=0),  # runs again in 30 s anyway
    "recommend.similar_refresh": TaskSpec(similar_refresh, max_retries=2),
    "recommend.similar_rebuild": TaskSpec(similar_rebuild, max_retries=2),
    "recommend.similar_sync": TaskSpec(similar_sync, max_retries=10),
}

JOBS: dict[str, JobFunc] = {name: spec.func for name, spec in TASKS.items()}
