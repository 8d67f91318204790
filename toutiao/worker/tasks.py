"""The Celery tasks, one per entry of :data:`toutiao.worker.jobs.TASKS`, on the app of this
worker process. A failure is retried with exponential backoff and jitter; the message is
acknowledged only once the task finished (or gave up), so a worker that dies mid-task leaves
it to another."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Celery, Task

from toutiao.kit import metrics
from toutiao.worker.jobs import TASKS, TaskSpec
from toutiao.worker.loop import WorkerLoop

log = logging.getLogger("toutiao.worker")


def _task(app: Celery, loop: WorkerLoop, name: str, spec: TaskSpec) -> Task:
    @app.task(  # type: ignore[untyped-decorator]
        name=name,
        bind=True,
        autoretry_for=(Exception,),
        retry_backoff=True,
        retry_backoff_max=spec.backoff_max,
        retry_jitter=True,
        max_retries=spec.max_retries,
    )
    def run(self: Task, *args: Any) -> None:
        started = time.perf_counter()
        try:
            loop.run(spec.func, *args, request_id=self.request.get("request_id"))
        except Exception as exc:
            metrics.observe_task(name, time.perf_counter() - started, ok=False)
            log.warning(
                "task.failed task=%s attempt=%d error=%s", name, self.request.retries + 1, exc
            )
            raise
        seconds = time.perf_counter() - started
        metrics.observe_task(name, seconds)
        log.info("task.done task=%s seconds=%.3f", name, seconds)

    return run


def register_tasks(app: Celery, loop: WorkerLoop) -> list[Task]:
    return [_task(app, loop, name, spec) for name, spec in TASKS.items()]
