"""Notifications to app users (the Socket.IO events of app.md §4.2).

The API only *publishes*: a ``Notifier`` hands an event to whatever delivers it (in-process
today; a write-only Socket.IO manager over RabbitMQ/Redis when IM runs elsewhere).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger("toutiao.notify")

FOLLOWING = "following notify"
LIKING = "liking notify"
COMMENT = "comment notify"
REVIEW = "review notify"  # to an article's author when staff review it (mis.md §1.11)
EVENTS = (FOLLOWING, LIKING, COMMENT, REVIEW)
# Not an event clients see: IM nodes close every connection of the addressed user (frozen).
SIGN_OUT = "toutiao:sign-out"


class Notifier(Protocol):
    name: str

    async def emit(self, event: str, data: dict[str, Any], room: str) -> None: ...


Listener = Callable[[str, dict[str, Any], str], Awaitable[None]]


class MemoryNotifier:
    """In-process delivery: listeners (the embedded IM server) get each event; the last ones are
    kept for inspection."""

    name = "memory"

    def __init__(self, keep: int = 1000) -> None:
        self.sent: deque[tuple[str, dict[str, Any], str]] = deque(maxlen=keep)
        self.listeners: list[Listener] = []

    async def emit(self, event: str, data: dict[str, Any], room: str) -> None:
        self.sent.append((event, data, room))
        for listener in self.listeners:
            try:
                await listener(event, data, room)
            except Exception:
                log.exception("notify.listener_failed event=%s", event)


def now_ms() -> int:
    return int(time.time() * 1000)
