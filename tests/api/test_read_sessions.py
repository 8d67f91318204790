"""A request's read session is closed once the request is answered: used or not, and when
the endpoint failed (``ReadSessionCloser``; the dependency itself is not a generator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from toutiao.api.deps import ReadSessionCloser, ReadSessionDep
from toutiao.runtime import Runtime


def _app(runtime: Runtime, opened: list[Any]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"runtime": runtime}

    app = FastAPI(lifespan=lifespan)
    app.add_middleware(ReadSessionCloser)

    @app.get("/used")
    async def used(session: ReadSessionDep) -> int:
        opened.append(session)
        return int((await session.execute(text("SELECT 1"))).scalar_one())

    @app.get("/fails")
    async def fails(session: ReadSessionDep) -> int:
        opened.append(session)
        await session.execute(text("SELECT 1"))
        raise RuntimeError("the endpoint failed after reading")

    @app.get("/unused")
    async def unused(session: ReadSessionDep) -> int:
        opened.append(session)
        return 0

    return app


async def test_read_sessions_are_closed_after_the_request(runtime: Runtime) -> None:
    opened: list[Any] = []
    app = _app(runtime, opened)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            for path, status in (("/used", 200), ("/fails", 500), ("/unused", 200)):
                response = await http.get(path)
                assert response.status_code == status, path
                session = opened[-1]
                assert not session.sync_session.in_transaction(), path  # closed: none open
    assert len(opened) == 3 and len({id(s) for s in opened}) == 3
