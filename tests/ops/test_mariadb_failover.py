"""MariaDB drills on real processes: a primary and a replica replicating from it, started here.

- reads go to the replica; when the replica is killed they fall back to the primary and the
  client sees no error;
- the primary is killed (SIGKILL) while clients like and unlike articles: writes answer 507
  while it is down, never 500, and after it restarts every acknowledged write is there.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from tests.fixtures.factories import Factory
from tests.fixtures.mariadb_procs import MISSING, MariaDBPair, install_template
from tests.fixtures.redis_ha import ONCE
from toutiao.announcement import service as announcement_service
from toutiao.config import Settings
from toutiao.kit.db import count_queries
from toutiao.kit.migrate import upgrade
from toutiao.main import create_app
from toutiao.models import ArticleAttitude
from toutiao.models.enums import Attitude
from toutiao.runtime import Runtime, build_runtime

pytestmark = [
    pytest.mark.skipif(MISSING is not None, reason=MISSING or ""),
    ONCE,
]

WRITERS = 4


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_template(tmp_path_factory.mktemp("mariadb"))


@pytest.fixture
def pair(template: Path, tmp_path: Path) -> Iterator[MariaDBPair]:
    started = MariaDBPair.start(template, tmp_path / "servers")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
async def stack(pair: MariaDBPair, tmp_path: Path) -> AsyncIterator[tuple[Runtime, Any]]:
    await upgrade(pair.primary.url())
    pair.wait_replica()
    settings = Settings(
        ENV="testing",
        DATA_DIR=tmp_path / "data",
        DATABASE_URL=pair.primary.url(),
        DATABASE_REPLICA_URLS=[pair.replica.url()],
        DATABASE_POOL_SIZE=WRITERS + 2,
        TASK_BROKER_URL="local://",
        PUBLIC_URL="http://testserver",
        SCHEDULER_ENABLED=False,
        DEMO=False,
        SMS_UNIVERSAL_CODE=None,
    )
    runtime = build_runtime(settings, name="mariadb-drill")
    await runtime.start()
    try:
        app = create_app(settings, runtime=runtime)
        async with LifespanManager(app) as manager:
            yield runtime, manager.app
    finally:
        await runtime.close()


async def _cold_read(runtime: Runtime, http: httpx.AsyncClient) -> tuple[int, int, int]:
    """``(status, statements on the primary, statements on the replica)`` of a read that
    misses every cache."""
    await runtime.cache.flushdb()
    announcement_service.clear_local_cache()
    replica = runtime.db.replicas[0].engine
    with count_queries([runtime.db.primary]) as primary, count_queries([replica]) as replicated:
        response = await http.get("/app/v1_0/announcements")
    return response.status_code, primary.count, replicated.count


async def test_reads_use_the_replica_and_fall_back_to_the_primary_when_it_dies(pair, stack) -> None:
    runtime, app = stack
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        status, on_primary, on_replica = await _cold_read(runtime, http)
        assert (status, on_primary) == (200, 0) and on_replica > 0

        await asyncio.to_thread(pair.replica.kill)
        status, on_primary, _ = await _cold_read(runtime, http)
        assert status == 200 and on_primary > 0  # the failed attempt cost no error
        status, on_primary, on_replica = await _cold_read(runtime, http)
        assert (status, on_replica) == (200, 0) and on_primary > 0  # skipped while down


async def _like(http, factory, user, arts, ledger, statuses, stop) -> None:  # type: ignore[no-untyped-def]
    rng, headers = random.Random(user), factory.headers(user)
    while not stop.is_set():
        art, on = rng.choice(arts), rng.random() < 0.7
        if on:
            r = await http.post("/app/v1_0/article/likings", json={"target": art}, headers=headers)
        else:
            r = await http.delete(f"/app/v1_0/article/likings/{art}", headers=headers)
        statuses.append(r.status_code)
        ledger[(user, art)] = on if r.status_code < 300 else None  # None: unknown
        if r.status_code >= 500:
            await asyncio.sleep(0.05)  # the database is down: do not spin


async def test_no_acknowledged_write_is_lost_when_the_primary_dies(pair, stack) -> None:
    runtime, app = stack
    factory = Factory(runtime)
    (channel,) = await factory.channels(["drill"], defaults=1)
    author = (await factory.user()).user_id
    arts = [await factory.article(author, channel.channel_id) for _ in range(5)]
    users = [(await factory.user()).user_id for _ in range(WRITERS)]
    ledger: dict[tuple[int, int], bool | None] = {}
    statuses: list[int] = []
    stop = asyncio.Event()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50004))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        writers = [
            asyncio.create_task(_like(http, factory, u, arts, ledger, statuses, stop))
            for u in users
        ]
        for _ in range(600):
            if len(statuses) >= 80:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(pair.primary.kill)
        down_from = len(statuses)
        for _ in range(600):
            if len(statuses) >= down_from + 20:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(pair.primary.start)  # InnoDB recovers what it acknowledged
        resumed = len(statuses)
        for _ in range(600):
            if sum(1 for s in statuses[resumed:] if s < 300) >= 20:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*writers)

    assert 500 not in statuses and set(statuses) <= {200, 201, 204, 507}, sorted(set(statuses))
    assert 507 in statuses[down_from:resumed]  # the outage was seen, as the contract's 507
    async with runtime.db.primary_read_session() as session:
        liked = set(
            (
                await session.execute(
                    select(ArticleAttitude.user_id, ArticleAttitude.article_id).where(
                        ArticleAttitude.attitude == Attitude.LIKE
                    )
                )
            ).all()
        )
    known = {pair_: state for pair_, state in ledger.items() if state is not None}
    assert known and all((p in liked) is state for p, state in known.items())
