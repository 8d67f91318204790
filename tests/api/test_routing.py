"""A request is tried only against the routes of the surface and the endpoint module its path
belongs to, finding its route does not walk the tree of routers again, and a path asked
before goes straight to an endpoint that takes only the request."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from toutiao.api.app import router as app_router
from toutiao.api.mis import router as mis_router
from toutiao.api.mp import router as mp_router
from toutiao.api.routing import (
    GatedRouter,
    RememberedRoutes,
    _takes_only_the_request,
    literal_beginnings,
    walk_routes,
)
from toutiao.main import build_lazy_parts, create_app

SURFACES = {"/app": app_router, "/mp": mp_router, "/mis": mis_router}


def test_every_route_of_a_surface_passes_its_gate(settings, runtime):
    app = create_app(settings, runtime=runtime)
    paths = [path for path, _ in walk_routes(app.routes)]
    for prefix, router in SURFACES.items():
        assert router.gate, prefix
        mine = [path for path in paths if path.startswith(prefix + "/")]
        assert mine and all(path.startswith(router.gate) for path in mine if path != "/app/")
    assert not "/app/".startswith(app_router.gate)  # the route map is not an /app route


def test_every_route_of_a_module_passes_its_gate(settings, runtime):
    create_app(settings, runtime=runtime)
    modules = 0
    for surface, router in SURFACES.items():
        for route in router.routes:
            inner = getattr(route, "original_router", None)
            if not isinstance(inner, GatedRouter):
                continue  # a FastAPI that copies included routes: nothing is tried by module
            modules += 1
            paths = [path for path, _ in walk_routes(inner.routes, surface)]
            assert inner.gate and all(path.startswith(inner.gate) for path in paths), paths
    assert modules == 0 or modules > 30


def test_literal_beginnings():
    assert literal_beginnings(["/a/v1/x/{id}", "/a/v1/x", "/a/v1/xy/", "/a/v1/z/{n}/y"]) == (
        "/a/v1/x",
        "/a/v1/z/",
    )
    assert literal_beginnings(["/a/{b}", "/{c}"]) == ()  # a path begins with a parameter


async def test_finding_a_route_does_not_walk_the_routers(settings, runtime, monkeypatch):
    walked = getattr(APIRouter, "_get_routes_version", None)
    if walked is None:
        pytest.skip("this FastAPI copies included routes: there is no tree to walk")
    app = create_app(settings, runtime=runtime)
    build_lazy_parts(app)
    calls: list[Any] = []

    def counted(router: Any, seen: Any = None) -> Any:
        calls.append(router)
        return walked(router, seen)

    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            await http.get("/app/v1_0/suggestion?q=a")
            _forget_routes(app)  # routed again, not remembered
            monkeypatch.setattr(APIRouter, "_get_routes_version", counted)
            response = await http.get("/app/v1_0/suggestion?q=a")
    assert response.status_code == 200
    assert calls == []  # each gated router answers with the version it fixed


def _forget_routes(app: Any) -> None:
    remembered = app.router.middleware_stack
    assert isinstance(remembered, RememberedRoutes)
    remembered.forget()


def _count_routes_tried(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The full path of each surface route a request is tried against (one regular expression
    each), recorded by a wrapper around ``APIRoute.matches``."""
    surface_routes = {
        id(route): path
        for path, route in walk_routes(app.routes)
        if path.startswith(tuple(f"{prefix}/" for prefix in SURFACES)) and path != "/app/"
    }
    tried: list[str] = []
    matches = APIRoute.matches

    def counted(route: APIRoute, scope: Any) -> Any:
        if id(route) in surface_routes:
            tried.append(surface_routes[id(route)])
        return matches(route, scope)

    monkeypatch.setattr(APIRoute, "matches", counted)
    return tried


@pytest.mark.parametrize(
    ("path", "status", "surface"),
    [
        ("/healthz", 200, None),  # outside every surface: tried against none of their routes
        ("/app/", 200, None),  # the route map
        ("/mis/v1_0/no-such-route", 404, None),  # no module's path begins so: none tried
        ("/mis/v1_0/articles/abc", 404, "/mis/v1_0/articles"),  # the articles module's only
        ("/app/v1_0/suggestion?q=a", 200, "/app/v1_0/su"),  # not the ~100 /app routes before
    ],
)
async def test_a_request_is_tried_only_against_its_surface(
    settings, runtime, monkeypatch, path, status, surface
):
    app = create_app(settings, runtime=runtime)
    build_lazy_parts(app)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            await http.get(path)  # a worker's first request
            _forget_routes(app)  # routed again, not remembered
            tried = _count_routes_tried(app, monkeypatch)
            response = await http.get(path)
    assert response.status_code == status
    # Without the gates: every /app, /mp and /mis route before it (about 250); without the
    # modules' gates, every route of the surface before it.
    if surface is None:
        assert tried == []
    else:
        assert tried and all(route.startswith(surface) for route in tried), set(tried)


def _handled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of each route FastAPI handles a request with, from now on."""
    handled: list[str] = []
    handle = APIRoute.handle

    async def counted(route: APIRoute, scope: Any, receive: Any, send: Any) -> None:
        handled.append(route.path)
        await handle(route, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", counted)
    return handled


class _Access(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.routes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.routes.append(record.__dict__["route"])


async def test_a_path_asked_before_goes_straight_to_its_endpoint(settings, runtime, monkeypatch):
    app = create_app(settings, runtime=runtime)
    build_lazy_parts(app)
    access = _Access()
    logger = logging.getLogger("toutiao.access")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(access)
    asks = [
        ("/app/", 200),  # the route map: no parameter at all
        ("/app/v1_0/articles/123456789", 404),  # a path parameter; the endpoint raises
        ("/app/v1_0/articles/987654321", 404),  # another path: FastAPI's way once
        ("/app/v1_1/articles?channel_id=abc&timestamp=1&with_top=1", 400),
    ]
    try:
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                handled = _handled(monkeypatch)
                first = [await http.get(path) for path, _ in asks]
                assert len(handled) == len(asks)
                again = [await http.get(path) for path, _ in asks]
                assert len(handled) == len(asks)  # none routed again
                # a query changes nothing about the route; a bad one is still the endpoint's 400
                ok = await http.get("/app/v1_1/articles?channel_id=0&timestamp=1&with_top=1")
    finally:
        logger.removeHandler(access)
        logger.setLevel(level)
    assert len(handled) == len(asks) and ok.status_code == 200
    for (path, status), a, b in zip(asks, first, again, strict=True):
        assert a.status_code == b.status_code == status, path
        assert a.headers["content-type"] == b.headers["content-type"]
        assert b.headers["x-request-id"] != a.headers["x-request-id"]
        if status != 200 or path == "/app/":
            assert a.content == b.content, path  # same envelope, same map
    assert access.routes[: len(asks)] == access.routes[len(asks) : 2 * len(asks)]
    assert access.routes[1] == "/app/v1_0/articles/{article_id}"  # the metrics' label


async def test_routes_that_need_fastapi_are_routed_every_time(settings, runtime, monkeypatch):
    app = create_app(settings, runtime=runtime)
    build_lazy_parts(app)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            handled = _handled(monkeypatch)
            for _ in range(2):
                assert (await http.get("/app/v1_0/user")).status_code == 401  # dependencies
                assert (await http.get("/app/v1_0/channels")).status_code == 200  # a model
                assert (await http.post("/app/")).status_code == 405  # not its method
                assert (await http.get("/no/such/path")).status_code == 404
    assert handled.count("/v1_0/user") == 2 and handled.count("/v1_0/channels") == 2
    remembered = app.router.middleware_stack
    assert isinstance(remembered, RememberedRoutes) and len(remembered.chosen) == 0


def test_which_routes_take_only_the_request():
    async def request_only(request: Request) -> Response:
        return Response()

    async def nothing() -> JSONResponse:
        return JSONResponse({})

    def not_async(request: Request) -> Response:
        return Response()

    async def a_query(q: int) -> Response:
        return Response()

    async def a_model(request: Request) -> dict[str, int]:
        return {}

    async def a_dependency(request: Request, x: int = Depends(lambda: 1)) -> Response:
        return Response()

    router = APIRouter()
    for endpoint in (request_only, nothing, not_async, a_query, a_model, a_dependency):
        router.add_api_route(f"/{endpoint.__name__}", endpoint)
    taken = {route.path for route in router.routes if _takes_only_the_request(route)}
    assert taken == {"/request_only", "/nothing"}


async def test_a_request_traced_by_fastapi_is_routed_every_time(settings, runtime, monkeypatch):
    """FastAPI's telemetry names a request's span after the route it finds: such a request is
    routed, never sent straight to a remembered endpoint."""
    app = create_app(settings, runtime=runtime)
    build_lazy_parts(app)
    remembered = app.router.middleware_stack
    assert isinstance(remembered, RememberedRoutes)

    async def call(asgi: Any, traced: bool) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/app/",
            "raw_path": b"/app/",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"t")],
            "client": ("127.0.0.1", 50000),
            "server": ("t", 80),
        }
        if traced:
            scope["fastapi.telemetry"] = object()
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await asgi(scope, receive, send)
        return int(sent[0]["status"])

    handled = _handled(monkeypatch)
    async with LifespanManager(app) as manager:
        assert await call(manager.app, traced=False) == 200 and len(handled) == 1  # remembered
        assert await call(manager.app, traced=False) == 200 and len(handled) == 1  # straight
        assert await call(manager.app, traced=True) == 200 and len(handled) == 2  # routed
