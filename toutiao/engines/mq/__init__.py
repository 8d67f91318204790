"""IM fan-out, chosen by ``TOUTIAO_MQ_URL``: how a notification gets from an API process to
the Socket.IO server holding the recipient's connections.

- ``memory://``: one process (``toutiao serve``). The API's notifier is a ``MemoryNotifier``;
  the Socket.IO server living in the same process registers itself as its listener.
- ``amqp://user:pass@host/vhost``: RabbitMQ. The API publishes through a *write-only*
  python-socketio manager on a fanout exchange named ``TOUTIAO_MQ_CHANNEL``; every IM node
  (``toutiao im``) consumes it with the same manager class and delivers to its own sockets.
- ``redis://...``: the same over Redis pub/sub (channel ``TOUTIAO_MQ_CHANNEL``).

Recipients: ``Notifier.emit(event, data, room)`` is called with ``room`` = the recipient's user
id as a string (``notify.service``), or ``EVERYONE``. The Socket.IO room of a user is
``user:<id>``, which only a connection authenticated with that user's access token joins, so
an anonymous id that looks like a user id reaches nobody's notifications (§14.36).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import socketio

from toutiao.config import Settings
from toutiao.engines.mq.base import MemoryNotifier, Notifier
from toutiao.engines.mq.control import disconnect_room

log = logging.getLogger("toutiao.mq")

EVERYONE = "*"  # recipient meaning every connected socket (the E08 test trigger)
PUBLISH_TIMEOUT = 1.0  # seconds a request may wait on the broker, retry included
PAUSE_AFTER_FAILURE = 3.0  # seconds notifications are dropped after a failed publish


class MqError(ValueError):
    """An MQ URL this module cannot use."""


def user_room(user_id: int | str) -> str:
    return f"user:{user_id}"


def socket_room(recipient: str) -> str | None:
    """The Socket.IO room for a notifier recipient; None addresses every socket."""
    return None if recipient == EVERYONE else user_room(recipient)


def mq_kind(url: str) -> str:
    scheme = url.partition("://")[0].lower()
    if scheme == "memory":
        return "memory"
    if scheme in {"amqp", "amqps"}:
        return "amqp"
    if scheme in {"redis", "rediss", "redis+sentinel", "unix"}:
        return "redis"
    raise MqError(f"unsupported TOUTIAO_MQ_URL {url!r}: use memory://, amqp://... or redis://...")


class ManagerNotifier:
    """Publishes through a write-only python-socketio manager; never fails the caller.

    Each publish is bounded by ``timeout``. After a failure the broker is not tried again for
    ``pause`` seconds (those notifications are dropped and logged), so an outage costs one
    request ``timeout`` at most instead of slowing every follow and like.
    """

    def __init__(
        self,
        name: str,
        manager: Any,
        *,
        timeout: float = PUBLISH_TIMEOUT,
        pause: float = PAUSE_AFTER_FAILURE,
    ) -> None:
        self.name = name
        self.manager = manager
        self.timeout = timeout
        self.pause = pause
        self._paused_until = 0.0
        self._dropped = 0

    async def emit(self, event: str, data: dict[str, Any], room: str) -> None:
        if time.monotonic() < self._paused_until:
            self._dropped += 1
            log.debug("mq.publish_skipped event=%s (broker paused)", event)
            return
        try:
            await asyncio.wait_for(
                self.manager.emit(event, data, room=socket_room(room)), self.timeout
            )
        except Exception:  # TimeoutError included: the request goes on regardless
            self._paused_until = time.monotonic() + self.pause
            self._dropped += 1
            log.warning(
                "mq.publish_failed engine=%s event=%s; dropping notifications for %.0fs",
                self.name,
                event,
                self.pause,
                exc_info=True,
            )
            await self._reset()

    @property
    def dropped(self) -> int:
        return self._dropped

    async def _reset(self) -> None:
        try:
            await asyncio.wait_for(self.manager.close_connections(), self.timeout)
        except Exception:
            log.debug("mq.reset_failed", exc_info=True)

    async def close(self) -> None:
        await self._reset()


async def ping_mq(settings: Settings, *, deadline: float = 2.0) -> bool:
    """For readiness: can a fresh connection reach the broker (``memory://``: always)."""
    kind = mq_kind(settings.MQ_URL)
    try:
        async with asyncio.timeout(deadline):
            if kind == "amqp":
                import aio_pika

                connection = await aio_pika.connect(settings.MQ_URL, timeout=deadline)
                await connection.close()
            elif kind == "redis":
                from toutiao.kit.redis import create_redis

                handle = create_redis(settings.MQ_URL, name="toutiao-mq-ping")
                try:
                    await handle.client.ping()
                finally:
                    await handle.close()
    except Exception:
        log.debug("mq.ping_failed", exc_info=True)
        return False
    return True


def create_notifier(settings: Settings) -> Notifier:
    """The API side: where ``runtime.notifier`` sends. Builds no connection until first use."""
    kind = mq_kind(settings.MQ_URL)
    if kind == "memory":
        return MemoryNotifier()
    return ManagerNotifier(kind, _manager(kind, settings, write_only=True))


def create_client_manager(settings: Settings) -> socketio.AsyncManager:
    """The IM side: the Socket.IO server's manager, consuming what the API publishes."""
    kind = mq_kind(settings.MQ_URL)
    if kind == "memory":
        return socketio.AsyncManager()
    return _manager(kind, settings, write_only=False)


def _manager(kind: str, settings: Settings, *, write_only: bool) -> Any:
    if kind == "amqp":
        from toutiao.engines.mq.amqp import AmqpManager

        return AmqpManager(settings.MQ_URL, channel=settings.MQ_CHANNEL, write_only=write_only)
    from toutiao.engines.mq.redis import RedisManager

    return RedisManager(settings.MQ_URL, channel=settings.MQ_CHANNEL, write_only=write_only)


__all__ = [
    "disconnect_room",
    "EVERYONE",
    "ManagerNotifier",
    "MqError",
    "create_client_manager",
    "create_notifier",
    "ping_mq",
    "socket_room",
    "user_room",
]
