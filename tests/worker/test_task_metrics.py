"""The task tier in the metrics: queue depths read from a real broker at scrape time, and the
readiness check naming the broker."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager
from prometheus_client import REGISTRY

from tests.worker.helpers import on_a_broker
from toutiao.main import create_app


async def test_queue_depth_and_broker_readiness(settings, runtime) -> None:
    prefix = "test-depth"
    async with on_a_broker(runtime, prefix) as queued:
        for article_id in (1, 2, 3):
            await runtime.tasks.send("search.index", [article_id])
        await runtime.tasks.send("stats.fix")
        assert len(await queued("search")) == 3
        app = create_app(settings, runtime=runtime)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                scrape = await http.get("/metrics")
                ready = await http.get("/readyz")
    assert scrape.status_code == 200
    depth = {
        family: REGISTRY.get_sample_value(
            "toutiao_task_queue_depth", {"queue": f"{prefix}.{family}"}
        )
        for family in ("search", "default", "sms")
    }
    assert depth == {"search": 3.0, "default": 1.0, "sms": 0.0}
    assert ready.json()["checks"]["tasks"] == {"engine": "celery", "up": True}
