"""One long-lived event loop and one ``Runtime`` per worker process.

Celery calls tasks synchronously in its pool's threads (or forked children). Each task body
is a coroutine; it runs on this process's loop, in a thread of its own, with engines built
once (connection pools, the Snowflake lease, the search engine), so a task costs no
connection set-up. A forked child builds its own on first use; the worker's shutdown signal
closes them (the id lease is released, the embedded Redis is left to its owner).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from toutiao.engines.tasks import JobFunc
from toutiao.kit.logs import request_id_var

log = logging.getLogger("toutiao.worker")


class WorkerLoop:
    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build  # returns a Runtime not yet started (called on the loop)
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.runtime: Any = None

    def _submit(self, coro: Any) -> Future[Any]:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _ensure(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="toutiao-worker-loop", daemon=True
            )
            thread.start()
            self._loop, self._thread, self._pid = loop, thread, os.getpid()
            self.runtime = self._submit(self._start()).result()
            log.info("worker.runtime_ready pid=%d", self._pid)

    async def _start(self) -> Any:
        runtime = self._build()
        await runtime.start()
        return runtime

    def run(self, job: JobFunc, *args: Any, request_id: str | None = None) -> object:
        """Run ``job(runtime, *args)`` on the loop and wait for its result (or exception)."""
        self._ensure()
        return self._submit(_with_request_id(request_id, job(self.runtime, *args))).result()

    def close(self) -> None:
        with self._lock:
            if self._pid != os.getpid() or self._loop is None:
                return
            loop, thread, runtime = self._loop, self._thread, self.runtime
            self._pid = self._loop = self._thread = self.runtime = None
        try:
            if runtime is not None:
                self._close_on(loop, runtime)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=10)
            loop.close()
            log.info("worker.runtime_closed pid=%d", os.getpid())

    @staticmethod
    def _close_on(loop: asyncio.AbstractEventLoop, runtime: Any) -> None:
        try:
            asyncio.run_coroutine_threadsafe(runtime.close(), loop).result(timeout=30)
        except Exception:
            log.exception("worker.runtime_close_failed")


async def _with_request_id(request_id: str | None, work: Awaitable[object]) -> object:
    """Log lines of the task carry the id of the request that sent it."""
    request_id_var.set(request_id)
    return await work
