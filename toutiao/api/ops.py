"""Operator endpoints: liveness, readiness, Prometheus metrics (not part of the app contract).

``/metrics`` answers anyone who reaches the process: keep it off the public listener (the
reverse proxy should not route it).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response

from toutiao.api.health import Readiness
from toutiao.api.responses import OrjsonResponse
from toutiao.kit import metrics
from toutiao.runtime import Runtime

log = logging.getLogger("toutiao.metrics")


async def measure_queues(runtime: Runtime) -> None:
    """Task queue depths, read from the broker at scrape time (a failure leaves the last)."""
    depths = getattr(runtime.tasks, "depths", None)
    if depths is None:  # no broker (local://)
        return
    try:
        for queue, depth in (await depths()).items():
            metrics.set_queue_depth(queue, depth)
    except Exception:  # a scrape must not fail because the broker did
        log.warning("metrics.queue_depth_failed", exc_info=True)


def install_ops_routes(app: FastAPI) -> None:
    readiness = Readiness()

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> OrjsonResponse:
        """Liveness: 200 while the process serves requests; asks no engine."""
        return OrjsonResponse({"status": "ok"})

    @app.get("/readyz", tags=["ops"], responses={503: {"description": "Not ready."}})
    async def readyz(request: Request) -> OrjsonResponse:
        """Readiness: 200 when every engine answers and the search and similar-articles
        indexes are built; else 503. The body names each check."""
        ready, checks = await readiness.check(request.state.runtime)
        return OrjsonResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus exposition (all workers' values in multiprocess mode)."""
        await measure_queues(request.state.runtime)
        body, content_type = await asyncio.to_thread(metrics.render)
        return Response(body, media_type=content_type)
