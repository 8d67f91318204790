"""mp login support (mp.md §6.8): SMS codes and token refresh."""

from __future__ import annotations

import pytest

from tests.api.mp.conftest import assert_error
from toutiao.models.enums import UserStatus
from toutiao.user.tokens import verify_token

REFRESH = "/mp/v1_0/authorizations"


class TestSmsCode:
    async def test_sent_and_usable_for_the_mp_login(self, client, runtime):
        response = await client.get("/mp/v1_0/sms/codes/13912340001")
        assert response.status_code == 200
        assert response.json() == {"message": "OK", "data": {"mobile": "13912340001"}}
        code = runtime.sms.last_code("13912340001")
        login = await client.post(REFRESH, json={"mobile": "13912340001", "code": code})
        assert login.status_code == 201, login.text

    @pytest.mark.parametrize("mobile", ["12345678901", "1391234000", "139123400011", "abc"])
    async def test_invalid_mobile_is_not_found(self, client, mobile):
        assert_error(await client.get(f"/mp/v1_0/sms/codes/{mobile}"), 404)

    async def test_one_per_mobile_per_minute(self, client):
        assert (await client.get("/mp/v1_0/sms/codes/13912340002")).status_code == 200
        assert_error(await client.get("/mp/v1_0/sms/codes/13912340002"), 429)


class TestRefresh:
    async def test_refresh_token_gives_a_new_access_token(self, client, runtime, factory):
        user = await factory.user()
        response = await client.put(REFRESH, headers=factory.headers(user.user_id, refresh=True))
        assert response.status_code == 201
        data = response.json()["data"]
        assert set(data) == {"token"}
        claims = verify_token(runtime.settings, data["token"])
        assert claims.user_id == user.user_id and not claims.refresh
        me = await client.get(
            "/mp/v1_0/user/images", headers={"Authorization": f"Bearer {data['token']}"}
        )
        assert me.status_code == 200

    async def test_access_token_or_garbage_is_refused(self, client, factory):
        user = await factory.user()
        assert_error(await client.put(REFRESH, headers=factory.headers(user.user_id)), 403)
        assert_error(await client.put(REFRESH, headers={"Authorization": "Bearer nope"}), 403)
        assert_error(await client.put(REFRESH), 403)

    async def test_disabled_account(self, client, factory):
        user = await factory.user(status=UserStatus.DISABLED)
        assert_error(
            await client.put(REFRESH, headers=factory.headers(user.user_id, refresh=True)), 403
        )

    async def test_a_refresh_token_is_not_an_access_token(self, client, factory):
        user = await factory.user()
        headers = factory.headers(user.user_id, refresh=True)
        assert_error(await client.get("/mp/v1_0/user/images", headers=headers), 401)
