"""The surfaces' routers, and walking the routes of an application.

FastAPI finds a request's route by trying each route in turn, through included routers, with
no look at a prefix they share: every route of a surface that comes before the one asked
for is one regular expression tried (about 3 µs each on a slow machine). Before the gate
below, every request to ``/mis`` paid for all the ``/app`` and ``/mp`` routes (0.5 ms), and
every path outside the surfaces (``/healthz``, ``/readyz``, ``/metrics``, ``/media``, the
route map at ``/app/``) for all three (1 ms). A :class:`SurfaceRouter` included with
:func:`include_surface` answers "no match" at once for a path that begins with none of its
routes' first segments (``/app/v1_0``, ``/app/v1_1``, ``/app/imtest``; the full match still
decides the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import Match, get_route_path
from starlette.types import Scope


class SurfaceRouter(APIRouter):
    """The router of one surface (``/app``, ``/mp``, ``/mis``)."""

    # What a path must begin with to be tried against the routes (set by include_surface);
    # empty: every path is tried.
    gate: tuple[str, ...] = ()

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        gate = self.gate
        if (
            gate
            and scope["type"] in ("http", "websocket")
            and not get_route_path(scope).startswith(gate)
        ):
            return Match.NONE, {}
        return super().matches(scope)


def include_surface(app: FastAPI, router: SurfaceRouter, prefix: str) -> None:
    """Include ``router`` under ``prefix``, its gate set from the routes it holds now: the
    first segment of each path under ``prefix``, unless one of them is a path parameter.
    Include a surface once all its routes are declared: a route added later under a new
    first segment would not be reached."""
    app.include_router(router, prefix=prefix)
    heads = set()
    for path, _ in walk_routes(router.routes, prefix):
        head = path.removeprefix(prefix + "/").split("/", 1)[0]
        if "{" in head or not head:
            router.gate = ()
            return
        heads.add(f"{prefix}/{head}")
    router.gate = tuple(sorted(heads))


def walk_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(full path, route)`` of every route, through included routers (which FastAPI may
    keep as a nested router with an include prefix rather than copy into ``routes``)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from walk_routes(inner.routes, prefix + getattr(context, "prefix", ""))
        else:
            yield prefix + getattr(route, "path", ""), route
