"""The HTTP application: the ``/app`` and ``/mp`` surfaces, ``/mis`` beside them later."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Response
from fastapi.datastructures import Default
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.orm import configure_mappers
from starlette.routing import NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

import toutiao
from toutiao.api.activity import ActivityMiddleware
from toutiao.api.app import router as app_router
from toutiao.api.deps import ReadSessionCloser
from toutiao.api.errors import install_error_handlers
from toutiao.api.guards import install_guards
from toutiao.api.mis import router as mis_router
from toutiao.api.mis.routing import check_declared
from toutiao.api.mp import DIRECT_UPLOAD_PATH
from toutiao.api.mp import router as mp_router
from toutiao.api.observe import ObserveMiddleware, RouteCapture
from toutiao.api.openapi import install_openapi
from toutiao.api.ops import install_ops_routes
from toutiao.api.responses import OrjsonResponse
from toutiao.api.routing import include_surface, remember_routes
from toutiao.config import Settings, get_settings
from toutiao.kit import heap, loop_lag
from toutiao.kit.periodic import repeating
from toutiao.recommend import events
from toutiao.runtime import Runtime, build_runtime
from toutiao.stats import activity
from toutiao.stats.rollup import expected_reading_seconds

log = logging.getLogger("toutiao.main")


class RouteCorsMiddleware:
    """CORS on one path prefix whatever the site-wide setting says: the mp image library
    uploads straight to this host from another origin with an ``Authorization`` header
    (mp.md §1.1). No cookies are involved, so no credentials are allowed."""

    def __init__(self, app: ASGIApp, prefix: str, origins: list[str]) -> None:
        self.app = app
        self.prefix = prefix
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins or ["*"],
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _flask_style(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


def route_map(app: FastAPI, prefix: str) -> dict[str, str]:
    """``{endpoint name: path relative to the surface}`` for every route under ``prefix``.

    Read from the OpenAPI document, whose operation ids are the route names.
    """
    routes: dict[str, str] = {}
    for path, operations in app.openapi()["paths"].items():
        if path.startswith(prefix + "/"):
            for operation in operations.values():
                routes[operation["operationId"]] = _flask_style(path.removeprefix(prefix))
    return routes


@asynccontextmanager
async def _background(runtime: Runtime) -> AsyncIterator[None]:
    """What runs beside the requests: flushing what the app buffers in-process (the
    statistics counted by ActivityMiddleware and the article detail, and the detail's click
    events), and the watch on the event loop's lag."""

    async def expected(article_ids: list[int]) -> dict[int, float]:
        return await expected_reading_seconds(runtime.db, article_ids)

    every = runtime.settings.STATS_FLUSH_SECONDS
    async with (
        activity.flushing(runtime.store, expected, every=every),
        repeating(lambda: events.flush_buffered(runtime.store), every=every, name="events.flush"),
        loop_lag.watching("api"),
    ):
        yield


# The worker accepts requests once warm, or after this long (the rest warms in the background).
SEARCH_WARM_SECONDS = 20.0


async def warm_search(runtime: Runtime) -> None:
    """Load the segmenter, open the index and build the spelling vocabulary before the worker
    takes requests, not on the first reader's search (it took 1.6-2.3 s)."""
    if runtime.search is None:
        return
    try:
        await runtime.search.search("预热 warm", offset=0, limit=1)
        await runtime.search.suggest("预热", limit=1)
        await runtime.search.correct("预热")
    except Exception:
        log.warning("search.warm_up_failed", exc_info=True)


def build_lazy_parts(app: FastAPI) -> None:
    """Build now what FastAPI and SQLAlchemy otherwise build on the first request: an
    included router's routes with their dependants, validators and responses (about 24,000
    objects in all), and the ORM's mappers. Built before the heap is settled, they are out of
    every later collection, and not in the first reader's wait."""
    configure_mappers()
    with contextlib.suppress(NoMatchFound):
        # No route has this name: every included router builds each of its routes to look.
        app.url_path_for("\0")


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if runtime is not None:  # owned by the caller (tests, the all-in-one server)
            async with _background(runtime):
                yield {"runtime": runtime}
            return
        own = build_runtime(settings, name="api")
        await own.start()
        warming = asyncio.create_task(warm_search(own))
        await asyncio.wait({warming}, timeout=SEARCH_WARM_SECONDS)
        build_lazy_parts(application)
        # Start-up objects out of every later full collection; the first requests' ones too,
        # once the worker is warm.
        heap.settle(again_after=heap.WARM_AFTER)
        try:
            async with _background(own):
                yield {"runtime": own}
        finally:
            heap.warming.arm(())  # stopping: no settle now
            warming.cancel()
            await own.close()

    app = FastAPIOffline(
        title="toutiao",
        version=toutiao.__version__,
        description="Mobile app (/app), self-media (/mp) and operations (/mis) APIs.",
        # As a default (a placeholder), not a class: a route with a response model then has
        # pydantic write its JSON directly, skipping the Python-object dump; routes without
        # one still answer through orjson.
        default_response_class=Default(OrjsonResponse),
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,
    )
    install_error_handlers(app)
    install_openapi(app, settings)
    include_surface(app, app_router, "/app")
    include_surface(app, mp_router, "/mp")
    include_surface(app, mis_router, "/mis")
    check_declared(app)  # a /mis route without a permission declaration does not start

    written: list[bytes] = []  # the map as sent, written on the first request (routes are fixed)

    @app.get("/app/", name="route_map", tags=["portal"], response_model=dict[str, str])
    async def get_route_map() -> Response:
        """Map of all implemented routes (endpoint name -> path)."""
        if not written:
            written.append(orjson.dumps(route_map(app, "/app")))
        return Response(written[0], media_type="application/json")

    install_ops_routes(app)
    remember_routes(app)  # a GET of a path seen before goes straight to its endpoint

    if settings.storage_url.startswith("file://"):
        media_root = settings.storage_url.removeprefix("file://")
        from pathlib import Path

        Path(media_root).mkdir(parents=True, exist_ok=True)
        app.mount("/media", StaticFiles(directory=media_root, check_dir=False), name="media")

    app.add_middleware(ReadSessionCloser)  # innermost: closes the read sessions a request opened
    app.add_middleware(RouteCapture)  # sees the route the router matched
    app.add_middleware(ActivityMiddleware, settings=settings)
    install_guards(app, settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Trace", "X-Request-ID"],
            allow_credentials="*" not in settings.cors_origins,
            max_age=600,
        )
    # Outermost, so that this route answers CORS even where the site-wide list is empty.
    app.add_middleware(
        RouteCorsMiddleware, prefix=DIRECT_UPLOAD_PATH, origins=settings.cors_origins
    )
    app.add_middleware(ObserveMiddleware)  # every response timed, counted and logged
    return app
