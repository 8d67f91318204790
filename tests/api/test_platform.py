"""What every surface shares: errors, docs, health, CORS, dependency failures."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from tests.api.app.test_auth import assert_error
from toutiao.config import Settings
from toutiao.main import create_app


async def test_unknown_route_and_method_are_json(client):
    assert_error(await client.get("/app/v1_0/nope"), 404)
    assert_error(await client.delete("/app/v1_0/channels"), 405)


async def test_openapi_describes_every_endpoint(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path, methods in {
        "/app/v1_0/sms/codes/{mobile}": {"get"},
        "/app/v1_0/authorizations": {"post", "put"},
        "/app/v1_0/user": {"get"},
        "/app/v1_0/user/profile": {"get", "patch"},
        "/app/v1_0/user/photo": {"patch"},
        "/app/v1_0/users/{target}": {"get"},
        "/app/v1_0/user/channels": {"get", "post", "patch", "put", "delete"},
        "/app/v1_0/user/channels/{target}": {"put", "delete"},
        "/app/v1_0/channels": {"get"},
    }.items():
        assert methods <= set(paths[path]), path


async def test_docs_page_works_offline(client):
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "unpkg" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        src = next(
            part.split('"')[1]
            for part in page.text.split("src=" if asset.endswith(".js") else "href=")[1:]
            if asset in part.split('"')[1]
        )
        assert (await client.get(src)).status_code == 200


async def test_readyz_names_engines(client):
    response = await client.get("/readyz")
    checks = response.json()["checks"]
    assert checks["database"]["up"] is True
    assert checks["redis_cache"]["up"] is True
    assert {"database", "redis_cache", "redis_storage", "storage", "sms"} <= set(checks)
    assert {"search", "recommender", "chat", "mq"} <= set(checks)


async def test_cors_preflight_allows_authorization(client):
    response = await client.options(
        "/app/v1_0/authorizations",
        headers={
            "Origin": "http://localhost:8080",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


async def test_database_down_is_507_and_health_503(tmp_path):
    settings = Settings(
        DATA_DIR=tmp_path,
        DATABASE_URL="mysql+asyncmy://root@127.0.0.1:1/nothing",
        PUBLIC_URL="http://testserver",
    )
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert_error(await http.get("/app/v1_0/channels"), 507)
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"]["up"] is False
            assert (await http.get("/healthz")).status_code == 200  # alive all the same


async def test_oversized_bodies_are_refused_before_parsing(client, runtime):
    limit = runtime.settings.BODY_MAX_BYTES + 4 * (
        runtime.settings.UPLOAD_MAX_BYTES * 4 // 3 + 1024
    )
    declared = await client.post("/app/v1_0/authorizations", content=b"x" * (limit + 1))
    assert_error(declared, 413)

    async def chunks():  # a well-formed multipart upload of unannounced length
        yield b'--z\r\nContent-Disposition: form-data; name="photo"; filename="a.png"\r\n\r\n'
        for _ in range(limit // (1 << 20) + 2):
            yield b"y" * (1 << 20)
        yield b"\r\n--z--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=z"}
    streamed = await client.patch("/app/v1_0/user/photo", content=chunks(), headers=headers)
    assert_error(streamed, 413)

    async def json_chunks():
        for _ in range(limit // (1 << 20) + 2):
            yield b" " * (1 << 20)

    assert_error(await client.patch("/app/v1_0/user/profile", content=json_chunks()), 413)


async def test_no_endpoint_or_dependency_runs_in_a_worker_thread(settings, runtime):
    """FastAPI runs a plain ``def`` endpoint or dependency in a thread pool: a thread hop per
    request on every route that uses it. Everything here is ``async def``."""
    import inspect

    from fastapi.routing import APIRoute

    def walk(dependant, route):
        for dep in dependant.dependencies:
            call = dep.call
            assert inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call), (
                route.path,
                getattr(call, "__qualname__", call),
            )
            walk(dep, route)

    def api_routes(routes):
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
                yield from api_routes(route.original_router.routes)

    app = create_app(settings, runtime=runtime)
    routes = list(api_routes(app.router.routes))
    assert len(routes) > 50
    for route in routes:
        assert inspect.iscoroutinefunction(route.endpoint), route.path
        walk(route.dependant, route)
