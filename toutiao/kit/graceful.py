"""A uvicorn server that returns on SIGTERM/SIGINT instead of re-raising the signal.

Stock uvicorn shuts down and then re-raises the signal it caught, which kills the process
before the caller's ``finally`` blocks run: leases, queue connections and an embedded Redis
would leak. This server handles the signals on the event loop and lets ``serve()`` return.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn


async def until_signalled() -> None:
    """Wait for SIGINT or SIGTERM (or cancellation): the main loop of a process whose work
    runs in background tasks and servers."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


class GracefulServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
