"""Celery as the task tier: the app's configuration (shared by producers and ``toutiao
worker``) and the producer side.

Configuration, as the original deploys it but without its gaps: a RabbitMQ (or Redis)
broker, no result backend, task routes to ``<prefix>.sms`` / ``<prefix>.search`` /
``<prefix>.default`` (durable queues, persistent messages), acks after the task is done
(``acks_late``; a worker that dies mid-task leaves the message to another), one message
prefetched at a time, publisher confirms on RabbitMQ.

Publishing blocks (kombu), so it runs in a thread, bounded by ``TASK_PUBLISH_TIMEOUT``. When
the broker cannot take a message, it goes to the Redis list ``tasks:outbox`` (storage role)
instead, and :meth:`CeleryQueue.flush_outbox` (the scheduler's leader, every few seconds)
publishes it later: callers enqueue after their commit, and nothing is lost while the broker
restarts. Tasks are idempotent, so a message published twice does no harm.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any

import orjson

from toutiao.config import Settings
from toutiao.engines.tasks import queue_of
from toutiao.kit.logs import request_id_var

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("toutiao.tasks")

OUTBOX_KEY = "tasks:outbox"
FLUSH_BATCH = 100
FAMILIES = ("sms", "search", "default")


def queue_names(prefix: str) -> list[str]:
    return [f"{prefix}.{family}" for family in FAMILIES]


def _queue(name: str) -> Any:
    """A durable queue on a direct exchange of the same name."""
    from kombu import Exchange, Queue

    return Queue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]


def celery_config(settings: Settings, broker: str) -> dict[str, Any]:
    prefix = settings.TASK_QUEUE_PREFIX
    options: dict[str, Any] = {}
    if broker.startswith(("amqp", "pyamqp")):
        options["confirm_publish"] = True
    else:  # Redis: an unacknowledged message comes back after this many seconds
        options["visibility_timeout"] = 3600
    return {
        "broker_url": broker,
        "broker_connection_timeout": settings.TASK_PUBLISH_TIMEOUT,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": options,
        "task_queues": [_queue(n) for n in queue_names(prefix)],
        "task_default_queue": f"{prefix}.default",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "worker_enable_remote_control": False,
    }


def make_celery(settings: Settings, broker: str) -> Celery:
    from celery import Celery

    app = Celery("toutiao", set_as_current=False)
    app.conf.update(celery_config(settings, broker))
    return app


class CeleryQueue:
    name = "celery"

    def __init__(self, settings: Settings, broker: str, outbox: Any) -> None:
        self.settings = settings
        self.broker = broker
        self.prefix = settings.TASK_QUEUE_PREFIX
        self.timeout = settings.TASK_PUBLISH_TIMEOUT
        self.outbox = outbox  # the storage Redis client
        self._app: Celery | None = None
        self._app_lock = threading.Lock()

    @property
    def app(self) -> Celery:
        """Built on first use: a process that never sends a task never imports Celery."""
        with self._app_lock:
            if self._app is None:
                self._app = make_celery(self.settings, self.broker)
            return self._app

    def _publish(self, task: str, args: list[Any], request_id: str | None) -> None:
        self.app.send_task(
            task,
            args=args,
            headers={"request_id": request_id},
            queue=queue_of(task, self.prefix),
            retry=True,
            retry_policy={
                "max_retries": 2,
                "interval_start": 0.1,
                "interval_step": 0.2,
                "interval_max": 0.5,
            },
        )

    async def _publish_bounded(self, task: str, args: list[Any]) -> None:
        # The request id follows the task into the worker's log lines.
        publish = asyncio.to_thread(self._publish, task, args, request_id_var.get())
        await asyncio.wait_for(publish, self.timeout * 3)

    async def send(self, task: str, *args: Any) -> None:
        try:
            await self._publish_bounded(task, list(args))
        except Exception:
            log.warning("task.outboxed task=%s (broker unavailable)", task, exc_info=True)
            await self.outbox.rpush(OUTBOX_KEY, orjson.dumps([task, list(args)]))

    async def flush_outbox(self) -> int:
        items: list[str] = await self.outbox.lrange(OUTBOX_KEY, 0, FLUSH_BATCH - 1)
        done = 0
        try:
            for raw in items:
                task, args = orjson.loads(raw)
                await self._publish_bounded(task, args)
                done += 1
        except Exception:  # still down: the rest waits for the next flush
            log.warning("task.outbox_flush_failed waiting=%d", len(items) - done, exc_info=True)
        finally:
            if done:
                await self.outbox.ltrim(OUTBOX_KEY, done, -1)
                log.info("task.outbox_flushed count=%d", done)
        return done

    async def ping(self) -> bool:
        def check() -> bool:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=self.timeout)
                return True

        try:
            return await asyncio.wait_for(asyncio.to_thread(check), self.timeout * 2)
        except Exception:  # noqa: BLE001 - any failure means "down" for a health check
            return False

    async def depths(self) -> dict[str, int]:
        """Messages waiting in each of this prefix's queues (a passive declare per queue)."""

        def measure() -> dict[str, int]:
            from kombu.exceptions import ChannelError, OperationalError

            found = {}
            with self.app.connection_for_read() as conn:
                for name in queue_names(self.prefix):
                    # A channel per queue: on AMQP a failed passive declare closes the channel.
                    channel = conn.channel()
                    try:
                        declared = channel.queue_declare(name, passive=True)
                        found[name] = int(declared.message_count)
                    except (ChannelError, OperationalError):
                        found[name] = 0  # not declared yet: nothing was ever sent to it
                    finally:
                        channel.close()
            return found

        return await asyncio.wait_for(asyncio.to_thread(measure), self.timeout * 3)

    async def close(self) -> None:
        if self._app is not None:
            await asyncio.to_thread(self._app.close)
