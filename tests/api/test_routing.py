"""A request is tried only against the routes of the surface its path belongs to."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi.routing import APIRoute

from toutiao.api.app import router as app_router
from toutiao.api.mis import router as mis_router
from toutiao.api.mp import router as mp_router
from toutiao.api.routing import walk_routes
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
        ("/mis/v1_0/no-such-route", 404, "/mis/"),  # tried against /mis routes only
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
    # Without the gates: every /app, /mp and /mis route before it (about 250).
    if surface is None:
        assert tried == []
    else:
        assert tried and all(route.startswith(surface) for route in tried), set(tried)
