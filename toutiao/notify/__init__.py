"""Notifications to app users (the Socket.IO events of app.md §4.2).

The API only *publishes*: a ``Notifier`` (``toutiao.engines.mq``) hands an event to whatever
delivers it (in-process, or a write-only Socket.IO manager over RabbitMQ/Redis when IM runs
elsewhere).
"""

from __future__ import annotations

import time

FOLLOWING = "following notify"
LIKING = "liking notify"
COMMENT = "comment notify"
REVIEW = "review notify"  # to an article's author when staff review it (mis.md §1.11)
EVENTS = (FOLLOWING, LIKING, COMMENT, REVIEW)


def now_ms() -> int:
    return int(time.time() * 1000)
