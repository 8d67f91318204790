"""An API worker's heap: what its first requests would build is built at start-up, and
what they build anyway leaves the collector's generations once the worker is warm."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from toutiao.api.app import router as app_router
from toutiao.api.mis import router as mis_router
from toutiao.api.mp import router as mp_router
from toutiao.api.routing import GatedRouter
from toutiao.kit import heap
from toutiao.main import build_lazy_parts, create_app


def _one_path_per_module() -> list[str]:
    paths = [f"/{surface}/v1_0/no-such-route" for surface in ("app", "mp", "mis")]
    for surface in (app_router, mp_router, mis_router):
        for route in surface.routes:
            inner = getattr(route, "original_router", None)
            if isinstance(inner, GatedRouter) and inner.gate:
                paths.append(inner.gate[0].rstrip("/") + "/no/such/route")
    return paths


async def _made_by_first_request(app: Any) -> int:
    """Objects the collector tracks after the app's first request that it did not before."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            gc.collect()
            before = len(gc.get_objects())
            # No route has these paths, each begins as the paths of one endpoint module do:
            # matching them looks through every module's router.
            for path in _one_path_per_module():
                assert (await http.get(path)).status_code in (404, 405), path
            gc.collect()
            return len(gc.get_objects()) - before


async def test_the_first_request_builds_no_routes_once_the_lazy_parts_are_built(settings, runtime):
    """FastAPI builds an included router's routes (their dependants, validators, responses)
    on the first request that looks through it: without ``build_lazy_parts`` before the heap
    is settled, those live outside the frozen heap and every full collection scans them."""
    lazy = await _made_by_first_request(create_app(settings, runtime=runtime))
    built = create_app(settings, runtime=runtime)
    build_lazy_parts(built)
    eager = await _made_by_first_request(built)
    assert lazy > 10_000  # what the first requests built (24,004 objects when measured)
    assert eager < 1_000


@pytest.fixture
def freezes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The settles the heap makes, recorded instead of done (the test process stays as is)."""
    made: list[str] = []
    monkeypatch.setattr(heap, "_freeze", made.append)
    return made


async def test_a_warm_worker_settles_again_at_each_mark_when_no_request_is_in_flight(freezes):
    warming = heap.Warming()
    warming.arm([5, 3])
    warming.began()
    warming.began()
    warming.ended()
    warming.ended()  # 2 answered: not warm yet
    warming.began()
    warming.ended()  # 3 answered, none in flight: settles after this request's task
    warming.began()  # ... but one began before the loop had its turn
    await asyncio.sleep(0)
    assert freezes == [] and warming.settled == 0
    warming.ended()  # the next quiet moment
    await asyncio.sleep(0)
    assert freezes == ["warm"] and warming.marks == [5]
    warming.began()
    warming.ended()  # 5 answered
    await asyncio.sleep(0)
    assert freezes == ["warm", "warm"] and warming.settled == 2
    for _ in range(5):  # no mark left: nothing is counted any more
        warming.began()
        warming.ended()
    await asyncio.sleep(0)
    assert len(freezes) == 2 and warming.in_flight == 0 and warming.answered == 5


async def test_marks_passed_while_busy_make_one_settle(freezes):
    warming = heap.Warming()
    warming.arm([1, 2, 3, 10])
    warming.began()
    for _ in range(3):
        warming.began()
        warming.ended()  # one still in flight
    warming.ended()  # 4 answered
    await asyncio.sleep(0)
    assert freezes == ["warm"] and warming.marks == [10]


async def test_a_worker_never_quiet_settles_when_its_patience_runs_out(freezes):
    warming = heap.Warming()
    warming.arm([3])
    warming.began()  # in flight all along
    for _ in range(3 + heap.PATIENCE - 1):
        warming.began()
        warming.ended()
        await asyncio.sleep(0)
    assert freezes == []
    warming.began()
    warming.ended()  # PATIENCE answers past the mark
    await asyncio.sleep(0)
    assert freezes == ["warm"] and warming.marks == []


async def test_a_heap_never_armed_counts_nothing(freezes):
    warming = heap.Warming()
    for _ in range(3):
        warming.began()
        warming.ended()
    await asyncio.sleep(0)
    assert freezes == [] and warming.in_flight == 0 and warming.answered == 0


async def test_every_request_through_the_app_is_counted(client, freezes):
    heap.warming.arm([2])
    try:
        await client.get("/app/")
        await asyncio.sleep(0)
        assert freezes == []
        await client.get("/app/v1_0/no-such-route")  # an error is an answer too
        await asyncio.sleep(0)
        assert freezes == ["warm"]
    finally:
        heap.warming.arm(())
