"""A request is tried only against the routes of the surface and the endpoint module its path
belongs to, and finding its route does not walk the tree of routers again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter
from fastapi.routing import APIRoute

from toutiao.api.app import router as app_router
from toutiao.api.mis import router as mis_router
from toutiao.api.mp import router as mp_router
from toutiao.api.routing import GatedRouter, literal_beginnings, walk_routes
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
            monkeypatch.setattr(APIRouter, "_get_routes_version", counted)
            response = await http.get("/app/v1_0/suggestion?q=a")
    assert response.status_code == 200
    assert calls == []  # each gated router answers with the version it fixed


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
            tried = _count_routes_tried(app, monkeypatch)
            response = await http.get(path)
    assert response.status_code == status
    # Without the gates: every /app, /mp and /mis route before it (about 250); without the
    # modules' gates, every route of the surface before it.
    if surface is None:
        assert tried == []
    else:
        assert tried and all(route.startswith(surface) for route in tried), set(tried)
