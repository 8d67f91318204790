"""What the IM fan-out carries, whatever the transport: the ``Notifier`` interface the API
publishes through, the in-process one, and the control event that closes a user's
connections. The events themselves (names, payloads) belong to ``toutiao.notify``."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger("toutiao.mq")

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
