"""Real brokers and real ``toutiao worker`` processes for the task-tier tests."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from toutiao.config import Settings


def decode_messages(raw: list[str]) -> list[tuple[str, list[Any]]]:
    """(task name, args) of kombu messages as the Redis transport stores them in a queue list."""
    out = []
    for item in raw:
        message = orjson.loads(item)
        args, _kwargs, _embed = orjson.loads(base64.b64decode(message["body"]))
        out.append((message["headers"]["task"], args))
    return out


@contextlib.contextmanager
def rabbitmq_vhost(amqp_url: str) -> Iterator[str]:
    """A vhost of our own (``rabbitmqctl``), deleted afterwards; the broker URL on it."""
    vhost = f"toutiao_test_{uuid.uuid4().hex[:8]}"
    ctl = shutil.which("rabbitmqctl")
    assert ctl, "TOUTIAO_TEST_AMQP_URL is set but rabbitmqctl is missing"
    subprocess.run([ctl, "-q", "add_vhost", vhost], check=True)
    user = amqp_url.split("://", 1)[1].split(":", 1)[0] or "guest"
    subprocess.run([ctl, "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"], check=True)
    try:
        yield f"{amqp_url.rstrip('/')}/{vhost}"
    finally:
        subprocess.run([ctl, "-q", "delete_vhost", vhost], check=False)


class WorkerProcess:
    """``toutiao worker`` with its output in a file the test reads."""

    def __init__(self, settings: Settings, broker: str, log_file: Path, **env: str) -> None:
        self.log_file = log_file
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TOUTIAO_")}
        environ.update(
            TOUTIAO_ENV="testing",
            TOUTIAO_DATA_DIR=str(settings.data_dir),
            TOUTIAO_DATABASE_URL=settings.database_url,
            TOUTIAO_REDIS_URL=settings.redis_url,
            TOUTIAO_TASK_BROKER_URL=broker,
            TOUTIAO_TASK_QUEUE_PREFIX=settings.TASK_QUEUE_PREFIX,
            TOUTIAO_SEARCH_URL=settings.search_url,
            **env,
        )
        self.out = log_file.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "toutiao.cli", "worker", "--concurrency", "2"],
            env=environ,
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )
        self.wait_for("ready.")

    def text(self) -> str:
        return self.log_file.read_text(errors="replace")

    def wait_for(self, needle: str, *, timeout: float = 60.0, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while self.text().count(needle) < count:
            assert self.process.poll() is None, f"worker exited:\n{self.text()}"
            assert time.monotonic() < deadline, f"no {needle!r} in the worker log:\n{self.text()}"
            time.sleep(0.1)
        return self.text()

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.out.close()


@contextlib.asynccontextmanager
async def on_a_broker(
    runtime: Any, prefix: str = "test-broker"
) -> AsyncIterator[Callable[[str], Awaitable[list[tuple[str, list[Any]]]]]]:
    """Send the runtime's tasks to a real broker (its storage Redis) instead of running them
    (the tests' ``local://``); yields ``queued(family)``: the (task, args) waiting in a queue."""
    from toutiao.engines.tasks import broker_url
    from toutiao.engines.tasks.celery_queue import CeleryQueue

    if runtime.redis.storage.kind == "cluster":
        pytest.skip("Celery's broker is a plain Redis or AMQP beside a cluster, never the cluster")
    settings = runtime.settings.model_copy(
        update={"TASK_BROKER_URL": "", "TASK_QUEUE_PREFIX": prefix}
    )
    queue = CeleryQueue(settings, broker_url(settings, runtime.redis.storage), runtime.store)

    async def queued(family: str) -> list[tuple[str, list[Any]]]:
        return decode_messages(await runtime.store.lrange(f"{prefix}.{family}", 0, -1))

    local, runtime.tasks = runtime.tasks, queue
    try:
        yield queued
    finally:
        runtime.tasks = local
        await queue.close()
