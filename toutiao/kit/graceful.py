"""A uvicorn server that returns on SIGTERM/SIGINT instead of re-raising the signal.

Stock uvicorn shuts down and then re-raises the signal it caught, which kills the process
before the caller's ``finally`` blocks run: leases, queue connections and an embedded Redis
would leak. This server handles the signals on the event loop and lets ``serve()`` return.

Once a signal has started the shutdown, a second SIGTERM or Ctrl+C is logged and ignored
instead of killing the process halfway through its cleanup (a process manager that loses
patience escalates to SIGKILL anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Iterator
from typing import Any

import uvicorn

log = logging.getLogger("toutiao.graceful")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _already_stopping() -> None:
    log.warning("process.already_stopping: finishing the cleanup first")


def _after_signals(loop: asyncio.AbstractEventLoop, signalled: bool) -> None:
    """Drop our handlers; after a real signal, keep later ones from interrupting the cleanup
    (the loop removes these when it closes)."""
    for sig in SIGNALS:
        if signalled:
            loop.add_signal_handler(sig, _already_stopping)
        else:
            loop.remove_signal_handler(sig)


def run_service(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` for a long-running process: once its cleanup is done, a late SIGTERM or
    Ctrl+C (while the interpreter exits) no longer turns a clean exit into a kill."""
    try:
        asyncio.run(main)
    finally:
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


async def until_signalled() -> None:
    """Wait for SIGINT or SIGTERM (or cancellation): the main loop of a process whose work
    runs in background tasks and servers."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        _after_signals(loop, stop.is_set())


class GracefulServer(uvicorn.Server):
    signalled = False

    def handle_exit(self, sig: int, frame: object) -> None:
        self.signalled = True
        super().handle_exit(sig, frame)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            _after_signals(loop, self.signalled)
