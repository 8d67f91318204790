"""Every Redis URL form the README documents works for every Redis user in the code: the
cache and storage roles, rate limits, Snowflake worker-id leases and the MQ fan-out, each
tested against real ``redis-server`` processes (standalone, Sentinel with a database index,
a one-node Cluster) that this module starts on free ports."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager

from tests.fixtures.redis_procs import REDIS_SERVER, RedisFarm, free_port
from toutiao.config import Settings
from toutiao.engines.mq.redis import RedisManager
from toutiao.kit.migrate import upgrade
from toutiao.kit.redis import SentinelTarget
from toutiao.main import create_app
from toutiao.runtime import build_runtime
from toutiao.user import cache as user_cache

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")

MOBILE = "13912345678"


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    procs = RedisFarm(tmp_path_factory.mktemp("redis-farm"))
    try:
        master = procs.server()
        procs.server(replica_of=master)
        ports = {
            "master": master,
            "sentinel": procs.sentinel(master),
            "cluster": procs.server(cluster=True),
            "dead": free_port(),  # a listed Sentinel that is down must not matter
        }
        yield ports
    finally:
        procs.stop()


def _forms(ports: dict[str, int]) -> dict[str, tuple[str, int]]:
    """``name: (url, database index the data must land in)``."""
    sentinels = f"127.0.0.1:{ports['dead']},127.0.0.1:{ports['sentinel']}"
    return {
        "standalone": (f"redis://127.0.0.1:{ports['master']}/3", 3),
        "sentinel": (f"redis+sentinel://{sentinels}/mymaster/12", 12),
        "cluster": (f"redis+cluster://127.0.0.1:{ports['cluster']}", 0),
    }


def test_sentinel_url_parts() -> None:
    target = SentinelTarget.parse("redis+sentinel://:p%40ss@h1:26310,h2:26311/mymaster/12")
    assert target.hosts == [("h1", 26310), ("h2", 26311)]
    assert (target.service, target.db, target.password) == ("mymaster", 12, "p@ss")
    assert SentinelTarget.parse("redis+sentinel://h:1").service == "mymaster"
    with pytest.raises(ValueError, match="service"):
        SentinelTarget.parse("redis+sentinel://h:1/12/mymaster")


@pytest.mark.parametrize("form", ["standalone", "sentinel", "cluster"])
async def test_login_cache_limits_and_leases(farm, form: str, tmp_path: Path) -> None:
    url, db = _forms(farm)[form]
    port = farm["cluster"] if form == "cluster" else farm["master"]
    settings = Settings(
        DATA_DIR=tmp_path,
        REDIS_URL=url,
        REDIS_STORAGE_URL=url,
        # the task tier needs a plain Redis (or AMQP) broker beside a Sentinel or Cluster
        TASK_BROKER_URL=f"redis://127.0.0.1:{farm['master']}/5",
        PUBLIC_URL="http://testserver",
        SCHEDULER_ENABLED=False,
    )
    await upgrade(settings.database_url)
    runtime = build_runtime(settings, name=f"urls-{form}")
    await runtime.start()
    try:
        app = create_app(settings, runtime=runtime)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app, client=("10.1.2.3", 5))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                sent = await http.get(f"/app/v1_0/sms/codes/{MOBILE}")
                assert sent.status_code == 200, sent.text
                code = await runtime.store.get(user_cache.sms_code_key(MOBILE))
                login = await http.post(
                    "/app/v1_0/authorizations", json={"mobile": MOBILE, "code": code}
                )
                assert login.status_code == 201, login.text
                again = await http.get(f"/app/v1_0/sms/codes/{MOBILE}")
                assert again.status_code == 429  # the per-mobile limit counted the first
                assert (await http.get("/app/v1_0/channels")).status_code == 200
        raw = redis.Redis(port=port, db=db, decode_responses=True)
        keys = raw.keys("*")
        assert any(k.startswith("toutiao:limits") for k in keys), keys  # rate limits
        assert any("worker" in k or "snowflake" in k for k in keys), keys  # the id lease
        assert runtime.id_lease is not None
    finally:
        await runtime.close()


@pytest.mark.parametrize("form", ["standalone", "sentinel"])
async def test_mq_fan_out(farm, form: str) -> None:
    url, _ = _forms(farm)[form]
    listener = redis.Redis(port=farm["master"]).pubsub()
    listener.subscribe("toutiao-im-test")
    assert listener.get_message(timeout=5)["type"] == "subscribe"
    publisher = RedisManager(url, channel="toutiao-im-test", write_only=True)
    try:
        receivers = await publisher._publish({"method": "emit", "event": "ping"})
        assert receivers == 1
        message = await asyncio.to_thread(listener.get_message, timeout=5)
        assert message is not None and b"ping" in message["data"]
    finally:
        await publisher.close_connections()
        listener.close()
