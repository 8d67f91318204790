"""Running the recommendation service: alone (``toutiao rpc``) or inside ``toutiao serve``.

``serve_recommender`` starts the gRPC server and the recommender's scheduled jobs on an
existing runtime and stops both on exit; ``run_rpc`` is the whole process around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from toutiao.config import Settings
from toutiao.kit import heap, loop_lag, text
from toutiao.kit.graceful import until_signalled
from toutiao.kit.grpc_ops import stop_server
from toutiao.recommend.engine import Recommender
from toutiao.recommend.refill import run_refills
from toutiao.recommend.rekey import migrate_once
from toutiao.recommend.tasks import RECOMMEND_JOBS, schedule
from toutiao.rpc.server import start_rpc_server
from toutiao.runtime import Runtime, build_runtime

log = logging.getLogger("toutiao.rpc")

STOP_GRACE = 5.0


@contextlib.asynccontextmanager
async def serve_recommender(
    runtime: Runtime,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    scheduler: Any = None,
    run_jobs: bool = True,
) -> AsyncIterator[int]:
    """Serve until the block exits; yields the bound port.

    The queue refiller (``recommend.refill``) always runs. Jobs go on ``scheduler`` when one is given (the caller starts and stops it), else on a
    scheduler of our own; ``run_jobs=False`` leaves them to another process. Readers' keys
    still under their untagged names are moved once, beside serving (``recommend.rekey``).
    """
    text.configure(runtime.settings.data_dir / "jieba")
    recommender = Recommender(runtime.db, runtime.store)
    server, bound = await start_rpc_server(recommender, host=host, port=port)
    stop_refills = asyncio.Event()
    refills = asyncio.create_task(run_refills(recommender, runtime.store, stop_refills))
    rekey = asyncio.create_task(migrate_once(runtime.store))
    own = None
    leader = None
    try:
        if run_jobs:
            if scheduler is None:
                from apscheduler.schedulers.asyncio import AsyncIOScheduler

                scheduler = own = AsyncIOScheduler()
            leader = schedule(scheduler, runtime.db, runtime.store)
            if own is not None:
                own.start()
        yield bound
    finally:
        stop_refills.set()
        rekey.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rekey
        try:
            await asyncio.wait_for(refills, STOP_GRACE)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("rpc.refills_cancelled")
        if own is not None:
            own.shutdown(wait=False)
            with contextlib.suppress(Exception):
                await leader.stop()  # type: ignore[union-attr]
        elif leader is not None:
            for job in RECOMMEND_JOBS:  # the caller's scheduler (and lock) outlive us
                with contextlib.suppress(Exception):
                    scheduler.remove_job(job.name)
        await stop_server(server, STOP_GRACE)
        await recommender.close()

        log.info("rpc.stopped port=%d", bound)


async def run_rpc(settings: Settings, host: str = "127.0.0.1", port: int = 9999) -> None:
    """The ``toutiao rpc`` process: the recommender on ``port`` and the chat assistant on
    ``CHATBOT_PORT``, until SIGINT/SIGTERM (or cancellation)."""
    from toutiao.chat.main import serve_chatbot

    runtime = build_runtime(settings, name="rpc")
    await runtime.start()
    try:
        run_jobs = bool(getattr(settings, "SCHEDULER_ENABLED", True))
        async with (
            serve_recommender(runtime, host=host, port=port, run_jobs=run_jobs) as bound,
            serve_chatbot(runtime, host=host, port=settings.CHATBOT_PORT) as chat_port,
            loop_lag.watching("rpc"),
        ):
            log.info(
                "rpc.listening host=%s port=%d chatbot=%d jobs=%s", host, bound, chat_port, run_jobs
            )
            heap.settle()
            await until_signalled()
    finally:
        await runtime.close()
