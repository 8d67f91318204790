"""Background work repeated while a block runs: in-process buffers flushed every few seconds.

:func:`repeating` runs an action every ``every`` seconds for as long as the ``async with``
block runs, and once more when it ends, so what was buffered last is written before the
process stops. An action's error is logged and the next turn runs as planned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

log = logging.getLogger("toutiao.periodic")


@contextlib.asynccontextmanager
async def repeating(
    action: Callable[[], Awaitable[Any]], *, every: float, name: str
) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await action()
            except Exception:
                log.exception("periodic.failed name=%s", name)

    task = asyncio.create_task(loop(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            await action()
        except Exception:
            log.exception("periodic.last_run_failed name=%s", name)
