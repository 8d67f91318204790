"""How late a process's event loop runs what is due: the stalls no request timer explains.

A task sleeps a short interval again and again and records how much later than asked it woke
(``toutiao_event_loop_lag_seconds``). A late wake-up means the loop spent that long on
something that did not yield (a long synchronous call, a collector pause, a write that
blocked) or the process waited for a CPU; every request the process held waited as long.
A wake-up later than ``LOG_AFTER`` is logged too, with its time, to line it up with other
logs and with latency measured outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from toutiao.kit import metrics
from toutiao.kit.periodic import running

log = logging.getLogger("toutiao.loop")

INTERVAL = 0.05  # seconds between wake-ups: 20 a second, a few microseconds each
LOG_AFTER = 0.1  # a lag this long (seconds) is logged as well as counted


@contextlib.asynccontextmanager
async def watching(process: str, every: float = INTERVAL) -> AsyncIterator[None]:
    """Measure the running loop's lag for as long as the block runs (``process``: the
    metric's label, e.g. api)."""
    lags = metrics.LOOP_LAG.labels(process)  # looked up once

    async def watch() -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + every
            await asyncio.sleep(every)
            lag = max(loop.time() - due, 0.0)
            lags.observe(lag)
            if lag >= LOG_AFTER:
                log.warning("loop.stalled process=%s ms=%.0f", process, lag * 1000)

    async with running(watch, name="loop.lag"):
        yield
