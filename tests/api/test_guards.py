"""Guards every surface shares (api/guards.py): text that cannot be stored, body budgets,
query strings, OPTIONS / 405 ``Allow`` headers and load shedding."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tests.api.app.test_auth import assert_error
from toutiao.main import create_app

BAD_TEXTS = ["x\\ud800y", "\\udfff", "a\\udbff"]


def _with_every_string(schema: dict[str, Any], spec: dict[str, Any], text: str) -> bytes:
    """A JSON body (as raw text, so the escape survives) with ``text`` in every string field."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    fields = []
    for name in schema.get("properties") or {}:
        fields.append(f'"{name}": "{text}"')
    fields.append(f'"extra": ["{text}"]')
    return ("{" + ", ".join(fields) + "}").encode()


def _json_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                concrete = path.replace("{target}", "1").replace("{", "").replace("}", "")
                found.append((method, concrete, content["application/json"]["schema"]))
    return found


async def test_lone_surrogates_are_400_on_every_json_body(client, factory):
    spec = (await client.get("/openapi.json")).json()
    operations = _json_operations(spec)
    assert len(operations) >= 10
    user = await factory.user()
    headers = {**factory.headers(user.user_id), "Content-Type": "application/json"}
    for method, path, schema in operations:
        for text in BAD_TEXTS:
            body = _with_every_string(schema, spec, text)
            response = await client.request(method, path, content=body, headers=headers)
            assert_error(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        b'{"target": 1, "content": "x\\ud800y"}',  # escaped lone high surrogate
        b'{"target": 1, "content": "\\udc00"}',  # escaped lone low surrogate
        b'{"target": 1, "content": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8 bytes
        b'{"target": 1, "content": "\xff\xfe"}',  # not UTF-8 at all
        b'{"target": 1, "\\ud800": "key"}',
    ],
)
async def test_comment_with_unstorable_text_is_400(client, factory, body):
    user = await factory.user()
    response = await client.post(
        "/app/v1_0/comments", content=body, headers=factory.headers(user.user_id)
    )
    assert_error(response, 400)


async def test_a_surrogate_pair_is_fine(client, factory):
    user = await factory.user()
    response = await client.patch(
        "/app/v1_0/user/profile",
        content=b'{"name": "\\ud83d\\ude00ok"}',
        headers=factory.headers(user.user_id),
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == "\U0001f600ok"


async def test_profile_name_lone_surrogate_is_400_and_connection_kept(client, factory):
    user = await factory.user()
    headers = factory.headers(user.user_id)
    response = await client.patch(
        "/app/v1_0/user/profile", content=b'{"name": "\\udfff"}', headers=headers
    )
    assert_error(response, 400)
    assert (await client.get("/app/v1_0/user/profile", headers=headers)).status_code == 200


async def test_query_with_bad_text_or_nameless_parameter_is_400(client):
    assert_error(await client.get("/app/v1_0/articles?channel_id=8&="), 400)
    assert_error(await client.get("/app/v1_0/articles?=1&channel_id=8"), 400)
    assert_error(await client.get("/app/v1_0/search?q=%ED%A0%80"), 400)
    ok = await client.get("/app/v1_0/channels?blank=&flag&x=%E4%B8%AD")
    assert ok.status_code == 200, ok.text


class TestBodyBudgets:
    async def test_login_refuses_more_than_a_few_kib(self, client, runtime):
        limit = runtime.settings.BODY_MAX_BYTES
        body = b'{"mobile": "13911111111", "code": "123456", "pad": "' + b"x" * limit + b'"}'
        assert_error(await client.post("/app/v1_0/authorizations", content=body), 413)

    async def test_streamed_body_is_cut_at_the_budget(self, client, runtime):
        sent = 0

        async def endless():
            nonlocal sent
            for _ in range(1000):
                sent += 4096
                yield b" " * 4096

        response = await client.post("/app/v1_0/authorizations", content=endless())
        assert_error(response, 413)
        assert sent <= runtime.settings.BODY_MAX_BYTES + 2 * 4096

    async def test_photo_route_takes_images_when_logged_in(self, client, runtime, factory):
        user = await factory.user()
        headers = factory.headers(user.user_id)
        # past the small budget but within one image: read, then judged as an image (400)
        blob = b"\x89PNG" + b"\0" * (runtime.settings.BODY_MAX_BYTES * 4)
        response = await client.patch(
            "/app/v1_0/user/photo", files={"photo": ("a.png", blob, "image/png")}, headers=headers
        )
        assert_error(response, 400)
        anonymous = await client.patch(
            "/app/v1_0/user/photo", files={"photo": ("a.png", blob, "image/png")}
        )
        assert_error(anonymous, 413)

    async def test_budgets_are_in_the_openapi_document(self, client, runtime):
        spec = (await client.get("/openapi.json")).json()
        photo = spec["paths"]["/app/v1_0/user/photo"]["patch"]
        login = spec["paths"]["/app/v1_0/authorizations"]["post"]
        assert login["x-max-body-bytes"] == runtime.settings.BODY_MAX_BYTES
        assert photo["x-max-body-bytes"] > 4 * runtime.settings.UPLOAD_MAX_BYTES
        assert "413" in login["responses"] and "413" in photo["responses"]


class TestMethods:
    async def test_405_lists_every_method_of_the_path(self, client):
        response = await client.delete("/app/v1_0/authorizations")
        assert_error(response, 405)
        assert set(response.headers["allow"].split(", ")) == {"POST", "PUT", "OPTIONS"}
        channels = await client.post("/app/v1_0/channels")
        assert set(channels.headers["allow"].split(", ")) == {"GET", "OPTIONS"}

    async def test_options_answers_allow(self, client):
        response = await client.options("/app/v1_0/user/channels")
        assert response.status_code == 204
        assert set(response.headers["allow"].split(", ")) == {
            "GET",
            "POST",
            "PATCH",
            "PUT",
            "DELETE",
            "OPTIONS",
        }
        assert (await client.options("/app/v1_0/nothing-here")).status_code == 404

    async def test_cors_preflight_still_answered_by_cors(self, client):
        response = await client.options(
            "/app/v1_0/user/channels",
            headers={"Origin": "http://a.example", "Access-Control-Request-Method": "PUT"},
        )
        assert response.status_code == 200
        assert "PUT" in response.headers["access-control-allow-methods"]


async def test_overload_is_shed_with_503_and_retry_after(settings, runtime):
    tight = settings.model_copy(
        update={"HTTP_MAX_INFLIGHT": 2, "HTTP_MAX_QUEUE": 1, "HTTP_QUEUE_TIMEOUT": 0.2}
    )
    app = create_app(tight, runtime=runtime)
    release = asyncio.Event()
    both_in = asyncio.Event()
    entered = 0

    @app.get("/slow-for-test")
    async def slow() -> dict[str, int]:
        nonlocal entered
        entered += 1
        if entered == 2:
            both_in.set()
        await release.wait()
        return {"ok": 1}

    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            running = [asyncio.create_task(http.get("/slow-for-test")) for _ in range(2)]
            await asyncio.wait_for(both_in.wait(), timeout=10)
            shed = await asyncio.wait_for(
                asyncio.gather(*(http.get("/slow-for-test") for _ in range(5))), timeout=10
            )
            assert {r.status_code for r in shed} == {503}
            assert all(r.headers["retry-after"].isdigit() for r in shed)
            assert shed[0].json()["message"]
            assert (await http.get("/healthz")).status_code in {200, 503}  # never shed
            release.set()
            assert [r.status_code for r in await asyncio.gather(*running)] == [200, 200]
            assert (await http.get("/slow-for-test")).status_code == 200


async def test_a_queued_request_gets_the_next_slot(settings, runtime):
    tight = settings.model_copy(
        update={"HTTP_MAX_INFLIGHT": 1, "HTTP_MAX_QUEUE": 4, "HTTP_QUEUE_TIMEOUT": 5.0}
    )
    app = create_app(tight, runtime=runtime)
    release = asyncio.Event()

    @app.get("/slow-for-test")
    async def slow() -> dict[str, int]:
        await release.wait()
        return {"ok": 1}

    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            tasks = [asyncio.create_task(http.get("/slow-for-test")) for _ in range(3)]
            await asyncio.sleep(0.1)
            release.set()
            assert [r.status_code for r in await asyncio.gather(*tasks)] == [200] * 3
