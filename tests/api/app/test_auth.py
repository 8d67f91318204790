"""SMS codes, log in / register, refresh, and the auth classes (app.md E09-E11, §1.6)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import func, select

from toutiao.models import User, UserProfile
from toutiao.models.enums import UserStatus
from toutiao.user.names import default_name
from toutiao.user.tokens import issue_token, verify_token


def assert_error(response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message"}
    assert isinstance(body["message"], str) and body["message"]


async def request_code(client, runtime, mobile: str) -> str:
    response = await client.get(f"/app/v1_0/sms/codes/{mobile}")
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "OK", "data": {"mobile": mobile}}
    return runtime.sms.last_code(mobile)


async def login(client, mobile: str, code: str):
    return await client.post("/app/v1_0/authorizations", json={"mobile": mobile, "code": code})


class TestSmsCode:
    async def test_sends_a_six_digit_code_that_expires(self, client, runtime):
        code = await request_code(client, runtime, "13912345678")
        assert len(code) == 6 and code.isdigit()
        assert await runtime.store.get("app:code:13912345678") == code
        assert 290 <= await runtime.store.ttl("app:code:13912345678") <= 300

    @pytest.mark.parametrize(
        "mobile", ["12345678901", "1391234567", "139123456789", "abc", "23912345678"]
    )
    async def test_malformed_mobile_is_404(self, client, mobile):
        assert_error(await client.get(f"/app/v1_0/sms/codes/{mobile}"), 404)

    async def test_one_code_per_mobile_per_minute(self, client, runtime):
        await request_code(client, runtime, "13912345678")
        again = await client.get("/app/v1_0/sms/codes/13912345678")
        assert again.status_code == 429
        assert again.json() == {"message": "Too many requests."}
        await request_code(client, runtime, "13912345679")  # another mobile is fine

    async def test_per_ip_limit(self, client, runtime):
        runtime.settings.SMS_RATE_PER_IP = "3/hour"
        try:
            for n in range(3):
                await request_code(client, runtime, f"1350000000{n}")
            assert (await client.get("/app/v1_0/sms/codes/13500000009")).status_code == 429
        finally:
            runtime.settings.SMS_RATE_PER_IP = "100/hour"


class TestLogin:
    async def test_registers_a_new_mobile(self, client, runtime):
        code = await request_code(client, runtime, "13911112222")
        response = await login(client, "13911112222", code)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert set(data) == {"token", "refresh_token"}
        claims = verify_token(runtime.settings, data["token"])
        assert claims is not None and not claims.refresh
        payload = jwt.decode(data["token"], options={"verify_signature": False})
        assert isinstance(payload["user_id"], int)  # the reference client decodes it
        async with runtime.db.session() as session:
            user = await session.get(User, claims.user_id)
            assert user.user_name == default_name(user.user_id) and user.profile_photo is None
            assert user.last_login is not None
            assert await session.get(UserProfile, claims.user_id) is not None

    async def test_existing_user_logs_in_and_last_login_moves(self, client, runtime, factory):
        user = await factory.user(mobile="13911113333", last_login=datetime(2020, 1, 1))
        code = await request_code(client, runtime, "13911113333")
        response = await login(client, "13911113333", code)
        assert response.status_code == 201
        assert (
            verify_token(runtime.settings, response.json()["data"]["token"]).user_id == user.user_id
        )
        async with runtime.db.session() as session:
            assert (await session.get(User, user.user_id)).last_login > datetime(2021, 1, 1)

    async def test_code_is_single_use_even_when_wrong(self, client, runtime):
        code = await request_code(client, runtime, "13911114444")
        wrong = "000000" if code != "000000" else "111111"
        assert_error(await login(client, "13911114444", wrong), 400)
        assert_error(await login(client, "13911114444", code), 400)  # burnt by the wrong try

    async def test_used_code_cannot_log_in_twice(self, client, runtime):
        code = await request_code(client, runtime, "13911115555")
        assert (await login(client, "13911115555", code)).status_code == 201
        assert_error(await login(client, "13911115555", code), 400)

    async def test_expired_code(self, client, runtime):
        code = await request_code(client, runtime, "13911116666")
        await runtime.store.delete("app:code:13911116666")  # what expiry does
        assert_error(await login(client, "13911116666", code), 400)

    async def test_universal_code_only_when_enabled(self, client, runtime):
        assert_error(await login(client, "13911117777", "246810"), 400)
        runtime.settings.SMS_UNIVERSAL_CODE = "246810"
        try:
            assert (await login(client, "13911117777", "246810")).status_code == 201
        finally:
            runtime.settings.SMS_UNIVERSAL_CODE = None

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"mobile": "13911118888"},
            {"code": "123456"},
            {"mobile": "1391111888", "code": "123456"},
            {"mobile": "13911118888", "code": "12345"},
            {"mobile": "13911118888", "code": "abcdef"},
            {"mobile": 13911118888, "code": "123456"},
        ],
    )
    async def test_bad_parameters_are_400(self, client, body):
        assert_error(await client.post("/app/v1_0/authorizations", json=body), 400)

    async def test_malformed_json_is_400(self, client):
        response = await client.post(
            "/app/v1_0/authorizations",
            content=b"{mobile:",
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 400)

    async def test_json_with_form_content_type_is_parsed(self, client, runtime):
        code = await request_code(client, runtime, "13911119999")
        response = await client.post(
            "/app/v1_0/authorizations",
            content=f'{{"mobile": "13911119999", "code": "{code}"}}'.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 201, response.text

    async def test_disabled_user_is_403(self, client, runtime, factory):
        await factory.user(mobile="13911110000", status=UserStatus.DISABLED)
        code = await request_code(client, runtime, "13911110000")
        assert_error(await login(client, "13911110000", code), 403)

    async def test_parallel_first_logins_create_one_user(self, client, runtime):
        runtime.settings.SMS_UNIVERSAL_CODE = "246810"
        try:
            responses = await asyncio.gather(
                *(login(client, "13700000001", "246810") for _ in range(5))
            )
        finally:
            runtime.settings.SMS_UNIVERSAL_CODE = None
        assert [r.status_code for r in responses] == [201] * 5
        async with runtime.db.session() as session:
            count = await session.scalar(
                select(func.count()).select_from(User).where(User.mobile == "13700000001")
            )
        assert count == 1


class TestRefresh:
    async def test_refresh_token_gives_a_new_access_token(self, client, runtime, factory):
        user = await factory.user()
        response = await client.put(
            "/app/v1_0/authorizations", headers=factory.headers(user.user_id, refresh=True)
        )
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert set(data) == {"token"}
        claims = verify_token(runtime.settings, data["token"])
        assert claims.user_id == user.user_id and not claims.refresh

    async def test_body_is_ignored(self, client, factory):
        user = await factory.user()
        response = await client.put(
            "/app/v1_0/authorizations",
            json={"target": 1},
            headers=factory.headers(user.user_id, refresh=True),
        )
        assert response.status_code == 201, response.text

    async def test_access_token_missing_or_garbage_is_403(self, client, factory):
        user = await factory.user()
        assert_error(
            await client.put("/app/v1_0/authorizations", headers=factory.headers(user.user_id)), 403
        )
        assert_error(await client.put("/app/v1_0/authorizations"), 403)
        assert_error(
            await client.put("/app/v1_0/authorizations", headers={"Authorization": "Bearer x.y.z"}),
            403,
        )

    async def test_expired_refresh_token_is_403(self, client, runtime, factory):
        user = await factory.user()
        old = datetime.now(UTC) - timedelta(days=15)
        token = issue_token(runtime.settings, user.user_id, refresh=True, now=old)
        assert_error(
            await client.put(
                "/app/v1_0/authorizations", headers={"Authorization": f"Bearer {token}"}
            ),
            403,
        )

    async def test_disabled_user_cannot_refresh(self, client, factory):
        user = await factory.user(status=UserStatus.DISABLED)
        assert_error(
            await client.put(
                "/app/v1_0/authorizations", headers=factory.headers(user.user_id, refresh=True)
            ),
            403,
        )


class TestAuthClasses:
    async def test_required_refuses_missing_bad_expired_refresh_and_anony(
        self, client, runtime, factory
    ):
        user = await factory.user()
        expired = issue_token(
            runtime.settings, user.user_id, now=datetime.now(UTC) - timedelta(hours=3)
        )
        forged = jwt.encode(
            {"user_id": user.user_id, "exp": datetime.now(UTC) + timedelta(hours=1)},
            "x" * 40,
            algorithm="HS256",
        )
        for headers in (
            {},
            {"Authorization": "Bearer nonsense"},
            {"Authorization": f"Bearer {expired}"},
            {"Authorization": f"Bearer {forged}"},
            factory.headers(user.user_id, refresh=True),
            {"Authorization": "Anony device-1"},
        ):
            assert_error(await client.get("/app/v1_0/user", headers=headers), 401)

    async def test_disabled_user_is_refused_even_when_status_is_cached(
        self, client, runtime, factory
    ):
        user = await factory.user()
        headers = factory.headers(user.user_id)
        assert (await client.get("/app/v1_0/user", headers=headers)).status_code == 200
        async with runtime.db.session() as session:
            (await session.get(User, user.user_id)).status = UserStatus.DISABLED
            await session.commit()
        from toutiao.user import cache as user_cache

        await user_cache.set_status(runtime.cache, user.user_id, False)  # what staff "disable" does
        assert_error(await client.get("/app/v1_0/user", headers=headers), 403)

    async def test_optional_auth_rejects_a_bad_token_but_not_anonymous(self, client):
        assert (await client.get("/app/v1_0/user/channels")).status_code == 200
        assert (
            await client.get("/app/v1_0/user/channels", headers={"Authorization": "Anony abc"})
        ).status_code == 200
        assert_error(
            await client.get("/app/v1_0/user/channels", headers={"Authorization": "Bearer bad"}),
            401,
        )
