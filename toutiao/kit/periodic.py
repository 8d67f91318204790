"""Background work while a block runs: in-process buffers flushed every few seconds.

:func:`running` keeps a task going for as long as the ``async with`` block runs and cancels
it when the block ends. :func:`repeating` runs an action every ``every`` seconds that way,
and once more when the block ends, so what was buffered last is written before the process
stops; an action's error is logged and the next turn runs as planned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger("toutiao.periodic")


@contextlib.asynccontextmanager
async def running(
    work: Callable[[], Coroutine[Any, Any, Any]], *, name: str
) -> AsyncIterator[None]:
    """``work()`` as a task named ``name`` while the block runs; cancelled when it ends."""
    task = asyncio.create_task(work(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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

    try:
        async with running(loop, name=name):
            yield
    finally:
        try:
            await action()
        except Exception:
            log.exception("periodic.last_run_failed name=%s", name)
