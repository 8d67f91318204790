"""The routers of the surfaces and their endpoint modules, and walking the routes of an app.

FastAPI finds a request's route by trying each route in turn, through included routers, with
no look at a prefix they share: every route that comes before the one asked for is one
regular expression tried (about 3 µs each on a slow machine). Since FastAPI keeps an included
router as a router (not as copies of its routes), each level also walks the whole tree of
routers below it to see whether any route changed, twice per request and level: about half
of what finding a feed request's route cost, and a search request, whose module is included
last, tried every module before it (370 µs).

So every router of a surface is a :class:`GatedRouter`, and :func:`include_surface`, run once
a surface's routes are all declared, sets on each

- a **gate**: what a path must begin with to be tried against its routes at all; a surface's
  is the first segment of its routes (``/app/v1_0``, ``/app/v1_1``, ``/app/imtest``; ``/mp/v1_0``;
  ``/mis/v1_0``), an endpoint module's the literal beginning of each of its paths (up to the
  first path parameter). A path outside every gate is answered "no match" at once; the full
  match still decides the rest (the method, the parameters);
- a **fixed tree**: the routers below it are not walked again on every request. A route
  added to a router afterwards marks that router changed as before; one added to a router
  below a fixed one would not be seen, as it would not pass the gates either: declare the
  routes first, then include the surface.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, get_type_hints

import cachebox
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette._utils import is_async_callable
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send


class GatedRouter(APIRouter):
    """A router of a surface (``/app``, ``/mp``, ``/mis``) or of one of its endpoint modules."""

    # What a path must begin with to be tried against the routes (set by include_surface);
    # empty: every path is tried.
    gate: tuple[str, ...] = ()
    # The routes' version as FastAPI counts it, over this router and those below it, taken
    # when the surface was included (None: counted by walking the tree, as FastAPI does).
    _fixed_version: int | None = None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        gate = self.gate
        if (
            gate
            and scope["type"] in ("http", "websocket")
            and not get_route_path(scope).startswith(gate)
        ):
            return Match.NONE, {}
        return super().matches(scope)

    def fix_tree(self) -> None:
        """Count the routes' version once, from now on (FastAPI's own count, when it keeps
        one: releases that copy included routes have none and need none)."""
        count = getattr(super(), "_get_routes_version", None)
        self._fixed_version = count() if count is not None else None

    def _get_routes_version(self, seen: set[int] | None = None) -> int:
        if self._fixed_version is not None:
            return self._fixed_version
        return super()._get_routes_version(seen)

    def _mark_routes_changed(self) -> None:
        self._fixed_version = None  # a route added here is seen (one added below is not)
        super()._mark_routes_changed()


def include_surface(app: FastAPI, router: GatedRouter, prefix: str) -> None:
    """Include ``router`` under ``prefix``; set its gate (the first segment of each path under
    ``prefix``, unless one of them is a path parameter) and the gates of the endpoint
    modules' routers in it (the literal beginning of each of their paths), and fix the tree
    below each. Include a surface once all its routes are declared."""
    app.include_router(router, prefix=prefix)
    heads: set[str] = set()
    for path, _ in walk_routes(router.routes, prefix):
        head = path.removeprefix(prefix + "/").split("/", 1)[0]
        if "{" in head or not head:
            heads = set()
            break
        heads.add(f"{prefix}/{head}")
    router.gate = tuple(sorted(heads))
    for inner, inner_prefix in _routers_below(router, prefix):
        if isinstance(inner, GatedRouter):
            inner.gate = literal_beginnings(
                path for path, _ in walk_routes(inner.routes, inner_prefix)
            )
            inner.fix_tree()
    router.fix_tree()


def literal_beginnings(paths: Iterable[str]) -> tuple[str, ...]:
    """What each path begins with before its first parameter (a path without one, without
    its trailing slash: the other form is redirected to it), those another one begins with
    left out; empty when a path begins with a parameter."""
    beginnings = set()
    for path in paths:
        literal = path.split("{", 1)[0] if "{" in path else path.rstrip("/")
        if not literal or literal == "/":
            return ()
        beginnings.add(literal)
    kept = sorted(beginnings)  # a beginning sorts before every one that extends it
    out: list[str] = []
    for literal in kept:
        if not any(literal.startswith(shorter) for shorter in out):
            out.append(literal)
    return tuple(out)


def _included(route: Any, prefix: str) -> tuple[Any, str] | None:
    """``(router, its full prefix)`` when ``route`` is an included router that FastAPI keeps
    as a router (not copied into the including one's routes), else None."""
    inner = getattr(route, "original_router", None)
    if inner is None:
        return None
    return inner, prefix + getattr(getattr(route, "include_context", None), "prefix", "")


def _routers_below(router: Any, prefix: str) -> Iterator[tuple[Any, str]]:
    """``(router, its full prefix)`` of every router included below ``router``."""
    for route in router.routes:
        included = _included(route, prefix)
        if included is not None:
            yield included
            yield from _routers_below(*included)


def walk_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(full path, route)`` of every route, through included routers."""
    for route in routes:
        included = _included(route, prefix)
        if included is not None:
            inner, inner_prefix = included
            yield from walk_routes(inner.routes, inner_prefix)
        else:
            yield prefix + getattr(route, "path", ""), route


# Requests whose route is remembered: each a few hundred bytes; a path not among them is found
# FastAPI's way once more and remembered again.
REMEMBERED = 16_384


def remember_routes(app: FastAPI) -> RememberedRoutes:
    """Put :class:`RememberedRoutes` around ``app``'s router (inside the app's middleware and
    exception handlers, as the router is)."""
    remembered = RememberedRoutes(app.router.middleware_stack, app.router)
    app.router.middleware_stack = remembered
    return remembered


class RememberedRoutes:
    """The app's router, remembering the route it chose for a ``GET`` of a path, when all
    FastAPI does for that route is call its endpoint and send the response it returns.

    Finding a route walks the routers (one regular expression tried per route before it, at
    each level) and FastAPI then runs the endpoint through its machinery: the request body,
    the dependencies, two exit stacks, the telemetry hooks. For an async endpoint that takes
    only the request (or nothing) and returns a ``Response``, as the most requested pages do
    (``toutiao.api.query``), none of it changes what is sent: it was about as much as the
    whole of a trivial request, and three times that for an article's detail.

    So the first ``GET`` of a path is routed FastAPI's way; if the route it chose is such a
    route (and serves ``GET``), the route and the path's parameters are remembered under the
    path, and the next ``GET`` of it calls the endpoint straight away, with the same scope
    keys set (``route``, ``endpoint``, ``path_params``, ``router``).
    What the app does around the router is unchanged: the middleware, the exception handlers
    (an exception raised by the endpoint reaches them as before), the route in the metrics.

    The same method and path always choose the same route once the routes are declared
    (the rule the gates keep too); a route added later comes after those already chosen and
    could not have been chosen instead. Requests of other methods (a body's limits and forms
    are FastAPI's) and requests traced by FastAPI's telemetry (which names the span after the
    route it finds) always go FastAPI's way."""

    def __init__(self, app: ASGIApp, router: APIRouter, size: int = REMEMBERED) -> None:
        self.app = app
        self.router = router
        self.chosen: cachebox.LRUCache[tuple[str, str], tuple[APIRoute, dict[str, Any]]] = (
            cachebox.LRUCache(size)
        )
        # id(route) -> (the route, kept so that its id is never another's; whether it is one)
        self.direct: dict[int, tuple[APIRoute, bool]] = {}

    def forget(self) -> None:
        self.chosen.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope.get("fastapi.telemetry") is not None
        ):
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("root_path", ""))
        chosen = self.chosen.get(key)
        if chosen is None:
            await self.app(scope, receive, send)
            self._remember(key, scope)
            return
        route, params = chosen
        scope.setdefault("router", self.router)
        scope["route"] = route
        scope["endpoint"] = endpoint = route.endpoint
        scope["path_params"] = dict(params)
        if route.dependant.request_param_name is None:
            response = await endpoint()
        else:
            response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    def _remember(self, key: tuple[str, str], scope: Scope) -> None:
        route = scope.get("route")
        if route is None:
            return
        known = self.direct.get(id(route))
        if known is None:
            known = self.direct[id(route)] = (route, _takes_only_the_request(route))
        if known[1] and "GET" in route.methods:
            self.chosen[key] = (route, dict(scope.get("path_params", {})))


def _takes_only_the_request(route: Any) -> bool:
    """Whether FastAPI does nothing for ``route`` but call its endpoint and send the response
    it returns: an async endpoint without dependencies whose one parameter, if any, is the
    ``Request``, annotated to return a ``Response``."""
    if not isinstance(route, APIRoute) or not is_async_callable(route.endpoint):
        return False
    d = route.dependant
    if (
        d.path_params
        or d.query_params
        or d.header_params
        or d.cookie_params
        or d.body_params
        or d.dependencies
        or d.websocket_param_name
        or d.http_connection_param_name
        or d.response_param_name
        or d.background_tasks_param_name
        or d.security_scopes_param_name
    ):
        return False
    try:
        returns = get_type_hints(route.endpoint).get("return")
    except (NameError, TypeError):  # an annotation that does not resolve: left to FastAPI
        return False
    return isinstance(returns, type) and issubclass(returns, Response)
