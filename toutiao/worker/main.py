"""``toutiao worker``: a Celery worker consuming the platform's queues.

Pools: ``threads`` (default: tasks are async I/O on the process's loop; CPU-heavy steps such
as similarity tokenising use their own process pools) or ``prefork`` / ``solo``. SIGTERM is
Celery's warm shutdown: tasks in progress finish, then the runtime closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

from celery import Celery, signals

from toutiao.config import Settings
from toutiao.engines.tasks import broker_url
from toutiao.engines.tasks.celery_queue import make_celery, queue_names
from toutiao.kit.redis import create_redis
from toutiao.worker.loop import WorkerLoop
from toutiao.worker.tasks import register_tasks

log = logging.getLogger("toutiao.worker")

STOP_GRACE = 30  # seconds tasks in progress get to finish on shutdown


def create_worker_app(settings: Settings, broker: str) -> tuple[Celery, WorkerLoop]:
    from toutiao.runtime import build_runtime

    app = make_celery(settings, broker)
    loop = WorkerLoop(lambda: build_runtime(settings, name="worker"))
    register_tasks(app, loop)

    def close(**_: Any) -> None:
        loop.close()

    signals.worker_process_shutdown.connect(close, weak=False)  # a prefork child
    signals.worker_shutdown.connect(close, weak=False)  # the worker (threads, solo)
    return app, loop


def run_worker(
    settings: Settings, *, pool: str, concurrency: int, queues: list[str] | None = None
) -> None:
    storage = create_redis(settings.redis_storage_url, name="toutiao-worker-main")
    try:
        broker = broker_url(settings, storage)
        app, _loop = create_worker_app(settings, broker)
        names = queues or queue_names(settings.TASK_QUEUE_PREFIX)
        log.info("worker.starting queues=%s pool=%s concurrency=%d", names, pool, concurrency)
        app.worker_main(
            [
                "worker",
                f"--queues={','.join(names)}",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                f"--loglevel={settings.LOG_LEVEL.upper()}",
                f"--hostname=toutiao-{os.getpid()}@{socket.gethostname()}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
        )
    finally:
        asyncio.run(storage.close())


@contextlib.asynccontextmanager
async def worker_subprocess(settings: Settings, runtime: Any) -> AsyncIterator[Any]:
    """``toutiao serve``'s task tier: a ``toutiao worker`` child on the embedded broker, so a
    slow task never shares the event loop (or the GIL) with requests. Stopped with SIGTERM
    (warm shutdown) before the embedded Redis it uses."""
    env = dict(
        os.environ,
        TOUTIAO_DATA_DIR=str(settings.data_dir),
        TOUTIAO_TASK_BROKER_URL=broker_url(settings, runtime.redis.storage),
        TOUTIAO_DEMO=str(settings.DEMO).lower(),
        TOUTIAO_PUBLIC_URL=settings.PUBLIC_URL,
    )
    command = [sys.executable, "-m", "toutiao.cli", "worker", "--concurrency", "2"]
    process = await asyncio.create_subprocess_exec(*command, env=env)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                log.warning(
                    "worker.kill pid=%d (no exit %ds after SIGTERM)", process.pid, STOP_GRACE
                )
                process.kill()
                await process.wait()
