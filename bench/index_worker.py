"""The search index worker on its own (what the worker tier runs in production), for the
mp bench: drains the index queue into the index under the bench's TOUTIAO_* settings until
SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from toutiao.config import Settings
from toutiao.runtime import build_runtime
from toutiao.search.tasks import run_index_worker


async def main() -> None:
    runtime = build_runtime(Settings(), name="bench-indexer")
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_index_worker(runtime, stop)
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
