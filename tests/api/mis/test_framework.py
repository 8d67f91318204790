"""The /mis framework: permission declarations, audit rows in the change's transaction."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import select, text

from tests.api.mis.helpers import assert_error, log_rows
from toutiao.api.mis.routing import (
    LOGIN_ONLY,
    RouteDeclarationError,
    StaffRoute,
    check_declared,
    requires,
)
from toutiao.api.routing import walk_routes
from toutiao.main import create_app
from toutiao.models import Administrator


def test_route_without_declaration_refuses_to_build():
    router = APIRouter(route_class=StaffRoute)
    with pytest.raises(RouteDeclarationError):

        @router.get("/v1_0/undeclared")
        async def undeclared() -> dict:
            return {}


def test_unknown_code_and_double_declaration_refused():
    with pytest.raises(RouteDeclarationError):
        requires("no-such-code")
    with pytest.raises(RouteDeclarationError):

        @requires(LOGIN_ONLY)
        @requires("userlist-get")
        async def twice() -> dict:
            return {}


def test_plain_route_under_mis_refuses_to_start():
    app = FastAPI()
    plain = APIRouter()

    @plain.get("/v1_0/sneaky")
    async def sneaky() -> dict:
        return {}

    app.include_router(plain, prefix="/mis")
    with pytest.raises(RouteDeclarationError):
        check_declared(app)


def test_every_mis_route_is_guarded_and_tagged(settings):
    app = create_app(settings)
    routes = [r for path, r in walk_routes(app.routes) if path.startswith("/mis/")]
    assert len(routes) >= 6 and all(isinstance(r, StaffRoute) for r in routes)
    paths = app.openapi()["paths"]
    for path, operations in paths.items():
        if path.startswith("/mis/"):
            for operation in operations.values():
                assert "mis" in operation["tags"]
                assert operation["x-permission"]


class TestAuditInvariant:
    async def test_a_failed_log_insert_is_507_and_changes_nothing(self, client, runtime, staff):
        member = await staff.member([])
        headers = staff.headers_for(member)
        async with runtime.db.primary.begin() as conn:
            await conn.execute(text("ALTER TABLE mis_operation_log RENAME TO mis_operation_log_x"))
        try:
            response = await client.patch(
                "/mis/v1_0/profile", json={"name": "Changed"}, headers=headers
            )
        finally:
            async with runtime.db.primary.begin() as conn:
                await conn.execute(
                    text("ALTER TABLE mis_operation_log_x RENAME TO mis_operation_log")
                )
        assert_error(response, 507)
        async with runtime.db.session() as session:
            name = await session.scalar(
                select(Administrator.name).where(
                    Administrator.administrator_id == member.administrator_id
                )
            )
        assert name == "Staff"
        assert await log_rows(runtime) == []


class TestClientIp:
    async def test_forwarded_for_ignored_from_untrusted_peer(self, client, runtime, staff):
        member = await staff.member([])
        headers = {**staff.headers_for(member), "X-Forwarded-For": "203.0.113.9"}
        response = await client.patch("/mis/v1_0/profile", json={"name": "A"}, headers=headers)
        assert response.status_code == 201
        assert [r.ip for r in await log_rows(runtime)] == ["127.0.0.1"]


class TestTrustedProxies:
    async def test_forwarded_for_believed_from_a_trusted_proxy(
        self, client, runtime, staff, monkeypatch
    ):
        trusting = runtime.settings.model_copy(update={"TRUSTED_PROXIES": ["127.0.0.0/8"]})
        trusting.__dict__.pop("trusted_proxies", None)  # a cached value copied along
        monkeypatch.setattr(runtime, "settings", trusting)
        member = await staff.member([])
        headers = {**staff.headers_for(member), "X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
        response = await client.patch("/mis/v1_0/profile", json={"name": "A"}, headers=headers)
        assert response.status_code == 201
        assert [r.ip for r in await log_rows(runtime)] == ["203.0.113.9"]

    async def test_app_login_limit_can_not_be_dodged_with_forwarded_for(self, client, runtime):
        rule = runtime.settings.LOGIN_RATE_PER_IP
        limit = int(rule.split("/")[0])
        for _ in range(limit):
            await runtime.limiter.hit(rule, "login:ip", "127.0.0.1")
        response = await client.post(
            "/app/v1_0/authorizations",
            json={"mobile": "13912345678", "code": "123456"},
            headers={"X-Forwarded-For": "198.51.100.1"},
        )
        assert_error(response, 429)
