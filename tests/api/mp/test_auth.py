"""mp sign-in, the public channel list, the auth class, CORS and docs (mp.md §1, §3.1, §3.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select

from tests.api.mp.conftest import DEMO_MOBILE, assert_error
from toutiao.models import User, UserProfile
from toutiao.models.enums import UserStatus
from toutiao.user.tokens import verify_token

LOGIN = "/mp/v1_0/authorizations"
STALE = {"Authorization": "Bearer not-a-valid-token"}


async def _user(runtime, mobile: str) -> tuple[User, UserProfile | None]:
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.mobile == mobile))
        profile = await session.get(UserProfile, user.user_id) if user else None
    return user, profile


class TestLogin:
    async def test_universal_code_registers_an_author(self, client, runtime, universal_code):
        body = {"mobile": DEMO_MOBILE, "code": universal_code, "agree": True}
        response = await client.post(LOGIN, json=body, headers=STALE)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert response.json()["message"] == "OK"
        assert set(data) == {"token", "refresh_token"}
        user, profile = await _user(runtime, DEMO_MOBILE)
        claims = verify_token(runtime.settings, data["token"])
        assert claims is not None and claims.user_id == user.user_id and not claims.refresh
        assert verify_token(runtime.settings, data["refresh_token"]).refresh
        assert user.is_media and user.last_login is not None
        assert profile.register_media_time is not None

    async def test_existing_user_keeps_first_media_time(self, client, runtime, factory):
        user = await factory.user(mobile="13922222222")
        first = datetime(2020, 1, 1)
        async with runtime.db.session() as session:
            (await session.get(UserProfile, user.user_id)).register_media_time = first
            await session.commit()
        await runtime.store.set("app:code:13922222222", "135790")
        response = await client.post(LOGIN, json={"mobile": "13922222222", "code": "135790"})
        assert response.status_code == 201, response.text
        again, profile = await _user(runtime, "13922222222")
        assert again.is_media and profile.register_media_time == first

    async def test_stored_code_is_single_use(self, client, runtime):
        await runtime.store.set("app:code:13933333333", "123456")
        body = {"mobile": "13933333333", "code": "123456"}
        assert (await client.post(LOGIN, json=body)).status_code == 201
        assert_error(await client.post(LOGIN, json=body), 400)

    @pytest.mark.parametrize(
        "body",
        [
            {"mobile": DEMO_MOBILE, "code": "000000"},
            {"mobile": "12345678901", "code": "246810"},
            {"mobile": DEMO_MOBILE, "code": "24681"},
            {"mobile": DEMO_MOBILE},
            {"code": "246810"},
            {},
        ],
    )
    async def test_bad_input_is_400(self, client, body):
        assert_error(await client.post(LOGIN, json=body), 400)

    async def test_disabled_account_is_403(self, client, factory, universal_code):
        await factory.user(mobile="13944444444", status=UserStatus.DISABLED)
        body = {"mobile": "13944444444", "code": universal_code}
        assert_error(await client.post(LOGIN, json=body), 403)

    async def test_ten_logins_per_mobile_per_hour(self, client, universal_code):
        body = {"mobile": "13955555555", "code": universal_code}
        for _ in range(10):
            assert (await client.post(LOGIN, json=body)).status_code == 201
        assert_error(await client.post(LOGIN, json=body), 429)


class TestChannels:
    async def test_visible_channels_in_order_and_stale_token_ignored(self, client, factory):
        await factory.channels(["html", "python", "secret", "go"], hidden=("secret",))
        response = await client.get("/mp/v1_0/channels", headers=STALE)
        assert response.status_code == 200, response.text
        names = [c["name"] for c in response.json()["data"]["channels"]]
        assert names == ["html", "python", "go"]
        assert all(isinstance(c["id"], int) for c in response.json()["data"]["channels"])

    async def test_expired_token_is_ignored(self, client, runtime):
        now = datetime.now(UTC)
        expired = jwt.encode(
            {"user_id": 1, "refresh": False, "exp": now - timedelta(hours=1)},
            runtime.settings.JWT_SECRET,
            algorithm="HS256",
        )
        response = await client.get(
            "/mp/v1_0/channels", headers={"Authorization": f"Bearer {expired}"}
        )
        assert response.status_code == 200


class TestSurface:
    async def test_openapi_tags_mp_apart_from_app(self, client):
        paths = (await client.get("/openapi.json")).json()["paths"]
        login = paths["/mp/v1_0/authorizations"]["post"]
        assert login["operationId"] == "mp.authorization"
        assert all(tag.startswith("mp: ") for tag in login["tags"])
        app_tags = {t for op in paths["/app/v1_0/channels"].values() for t in op["tags"]}
        assert not any(t.startswith("mp") for t in app_tags)

    async def test_direct_upload_preflight(self, client):
        response = await client.options(
            "/mp/v1_0/user/images",
            headers={
                "Origin": "http://publish.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] in ("*", "http://publish.example")
        assert "authorization" in response.headers["access-control-allow-headers"].lower()
