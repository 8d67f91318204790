"""Operator endpoints: liveness, readiness, Prometheus metrics (not part of the app contract).

``/metrics`` answers anyone who reaches the process: keep it off the public listener (the
reverse proxy should not route it).
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request
from fastapi.responses import Response

from toutiao.api.health import Readiness
from toutiao.api.responses import OrjsonResponse
from toutiao.kit import metrics


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
    async def prometheus_metrics() -> Response:
        """Prometheus exposition (all workers' values in multiprocess mode)."""
        body, content_type = await asyncio.to_thread(metrics.render)
        return Response(body, media_type=content_type)
