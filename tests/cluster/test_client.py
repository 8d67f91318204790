"""``kit.redis.ClusterClient`` on a real 3-master cluster: multi-key reads and deletes split
by slot (one result per queued command), cluster-only failures raised as ``RedisError``."""

from __future__ import annotations

import time

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.exceptions import RedisError

from tests.conftest import cluster_url
from tests.fixtures.redis_procs import free_cluster_port
from toutiao.kit.cache import invalidate
from toutiao.kit.redis import ClusterUnavailable, create_redis
from toutiao.main import create_app


@pytest.fixture
async def cluster(cluster_farm):
    _, ports = cluster_farm
    handle = create_redis(cluster_url(ports))
    await handle.client.flushdb()
    yield handle.client
    await handle.close()


async def _run(client, transaction: bool, commands: list[tuple]) -> list:
    async with client.pipeline(transaction=transaction) as pipe:
        for command in commands:
            pipe.execute_command(*command)
        return await pipe.execute()


def _slots(client, keys: list[str]) -> set[int]:
    return {client.keyslot(k) for k in keys}


async def test_mget_and_delete_span_slots(cluster) -> None:
    keys = [f"art:{n}:card" for n in range(20)]
    assert len(_slots(cluster, keys)) > 3  # really several slots (and nodes)
    for n, key in enumerate(keys[::2]):
        await cluster.set(key, n)
    assert await cluster.mget(keys) == [str(n // 2) if n % 2 == 0 else None for n in range(20)]
    assert await cluster.delete(*keys) == 10


async def test_a_pipeline_answers_one_result_per_queued_command(cluster) -> None:
    keys = [f"user:{n}:profile" for n in range(12)]
    await cluster.set(keys[0], "a")
    await cluster.set(keys[5], "b")
    async with cluster.pipeline(transaction=False) as pipe:
        pipe.get(keys[0])
        pipe.mget(keys)
        pipe.exists(*keys)
        pipe.delete(keys[0], keys[5], "nothing")
        pipe.mget([keys[1]])
        pipe.get(keys[5])
        results = await pipe.execute()
    wanted = [None] * 12
    wanted[0], wanted[5] = "a", "b"
    assert results == ["a", wanted, 2, 2, [None], None]


async def test_keys_of_one_transaction_share_a_tag(cluster) -> None:
    async with cluster.pipeline(transaction=True) as pipe:
        pipe.set("mis:login:{admin}:fail", 0, nx=True)
        pipe.incr("mis:login:{admin}:fail")
        pipe.delete("mis:login:{admin}:lock")
        assert await pipe.execute() == [True, 1, 0]


async def test_cluster_only_failures_are_redis_errors(cluster) -> None:
    # a cross-slot request (what an unsplit multi-key command or MULTI would meet)
    with pytest.raises(ClusterUnavailable):
        await cluster.execute_command("MGET", "art:1:card", "art:2:card")
    with pytest.raises(RedisError):
        await _run(cluster, True, [("SET", "art:1:card", 1), ("SET", "art:2:card", 2)])


async def test_every_node_unreachable_is_redis_unavailable() -> None:
    dead = create_redis(cluster_url([free_cluster_port(), free_cluster_port()]), socket_timeout=0.5)
    try:
        with pytest.raises(RedisError):
            await dead.client.get("x")
        with pytest.raises(RedisError):
            await _run(dead.client, False, [("GET", "a"), ("GET", "b")])
        # the cache's degraded path: an invalidation that cannot reach Redis is logged, not raised
        await invalidate(dead.client, "art:1:card", "art:2:card")
        assert not await dead.ping()
    finally:
        await dead.close()


async def test_the_api_with_every_cluster_node_unreachable(settings, runtime, factory) -> None:
    """The same answers as with a single server down: reads from the database, 507 for a
    write that needs Redis, never 500."""
    (channel,) = await factory.channels(["down"])
    author = await factory.user(name="作者")
    article = await factory.article(author.user_id, channel.channel_id, title="集群全部不可达")
    dead = cluster_url([free_cluster_port(), free_cluster_port(), free_cluster_port()])
    down = settings.model_copy(
        update={
            "REDIS_URL": dead,
            "REDIS_STORAGE_URL": dead,
            "REDIS_SOCKET_TIMEOUT": 0.5,
            "TASK_BROKER_URL": "local://",
        }
    )
    app = create_app(down)
    async with LifespanManager(app, startup_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            headers = factory.headers(author.user_id)
            now = int(time.time() * 1000)
            reads = [
                await http.get("/app/v1_0/channels"),
                await http.get(f"/app/v1_0/articles/{article}"),
                await http.get(
                    f"/app/v1_1/articles?channel_id={channel.channel_id}&timestamp={now}&with_top=1"
                ),
                await http.get(f"/app/v1_0/users/{author.user_id}/articles"),
                await http.get("/app/v1_0/user", headers=headers),
            ]
            assert [r.status_code for r in reads] == [200] * len(reads), [r.text for r in reads]
            like = await http.post(
                "/app/v1_0/article/likings", json={"target": article}, headers=headers
            )
            code = await http.get("/app/v1_0/sms/codes/13900000001")
    assert like.status_code in (201, 507), like.text
    assert code.status_code == 507, code.text
