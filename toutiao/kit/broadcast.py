"""Dropping in-process (L1) cache entries in every process at once: Redis pub/sub.

A domain registers a topic with what to drop for one key and how to empty its whole L1::

    broadcast.register("user-status", drop=lambda key: _l1.pop(int(key), None), reset=_l1.clear)

A writer, after its commit and after fixing the shared Redis copy, calls
``await runtime.broadcast.publish("user-status", str(user_id))``; every process that runs
``Broadcast.start`` (each runtime does) drops the entry. While a process is not subscribed
it cannot hear anything, so on every (re)subscription it empties every registered L1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger("toutiao.broadcast")

CHANNEL = "toutiao:l1-drop"
RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Topic:
    drop: Callable[[str], None]
    reset: Callable[[], None]


_topics: dict[str, Topic] = {}


def register(name: str, *, drop: Callable[[str], None], reset: Callable[[], None]) -> None:
    if ":" in name:
        raise ValueError("topic names contain no ':'")
    _topics[name] = Topic(drop, reset)


def deliver(message: str) -> None:
    """Apply one ``topic:key`` message in this process."""
    name, _, key = message.partition(":")
    topic = _topics.get(name)
    if topic is not None:
        topic.drop(key)


def reset_all() -> None:
    for topic in _topics.values():
        topic.reset()


class Broadcast:
    def __init__(self, client: Any, channel: str = CHANNEL) -> None:
        self.client = client
        self.channel = channel
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    async def publish(self, topic: str, key: str) -> None:
        """Drop ``key`` here at once and in every other process; Redis errors propagate."""
        deliver(f"{topic}:{key}")
        await self.client.publish(self.channel, f"{topic}:{key}")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="l1-broadcast")

    async def _listen(self) -> None:
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                reset_all()  # whatever was published while we were not listening is lost
                self.subscribed.set()
                async for message in pubsub.listen():
                    data = message.get("data")
                    if isinstance(data, bytes):
                        data = data.decode()
                    if isinstance(data, str):
                        deliver(data)
            except (RedisError, OSError):
                log.warning("broadcast.disconnected; retrying in %.0fs", RETRY_SECONDS)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            reset_all()
            await asyncio.sleep(RETRY_SECONDS)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
