"""Development SMS provider: nothing is sent; the code is logged so a developer can log in.

Logging the code is the whole point here and is acceptable only because this provider never
reaches a real phone. A production provider must never log the code (reference weakness
§14.37): a log reader could then sign in as anyone.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

log = logging.getLogger("toutiao.sms")


class LogSmsProvider:
    name = "log"

    def __init__(self, *, remember: int = 256) -> None:
        self._remember = remember
        self._codes: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()  # also called from worker threads (Celery eager mode)

    async def send_code(self, mobile: str, code: str) -> None:
        log.info("sms.code (development log provider): mobile=%s code=%s", mobile, code)
        with self._lock:
            self._codes[mobile] = code
            self._codes.move_to_end(mobile)
            while len(self._codes) > self._remember:
                self._codes.popitem(last=False)

    def last_code(self, mobile: str) -> str | None:
        with self._lock:
            return self._codes.get(mobile)
