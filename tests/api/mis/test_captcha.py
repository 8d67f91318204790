"""The GeeTest captcha switch (mis.md M01, M02), against a local server that checks requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.api.mis.helpers import assert_error
from tests.fixtures.staff import PASSWORD
from tests.im.conftest import serving
from toutiao.engines.captcha import md5

GT, KEY = "site-id-0123", "private-key-4567"
RAW_CHALLENGE = "c" * 32


class FakeGeeTest:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.up = True

    async def register(self, request: Request) -> JSONResponse:
        params = dict(request.query_params)
        self.requests.append(("register", params))
        assert params["gt"] == GT and params["json_format"] == "1"
        if not self.up:
            return JSONResponse({"challenge": ""}, status_code=503)
        return JSONResponse({"challenge": RAW_CHALLENGE})

    async def validate(self, request: Request) -> JSONResponse:
        form = dict(await request.form())
        self.requests.append(("validate", form))
        assert form["captchaid"] == GT
        return JSONResponse({"seccode": md5(form["seccode"])})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/register.php", self.register),
                Route("/validate.php", self.validate, methods=["POST"]),
            ]
        )


@pytest.fixture
async def geetest(runtime, monkeypatch) -> AsyncIterator[FakeGeeTest]:
    fake = FakeGeeTest()
    async with serving(fake.app(), lifespan="off") as url:
        settings = runtime.settings.model_copy(
            update={
                "MIS_CAPTCHA": "geetest",
                "MIS_GEETEST_ID": GT,
                "MIS_GEETEST_KEY": KEY,
                "MIS_GEETEST_URL": url,
            }
        )
        monkeypatch.setattr(runtime, "settings", settings)
        yield fake


async def login(client, account: str, **answer):
    body = {"account": account, "password": PASSWORD, **answer}
    return await client.post("/mis/v1_0/authorizations", json=body)


async def test_online_mode(client, staff, geetest):
    member = await staff.member([])
    started = await client.get(f"/mis/v1_0/captchas/{member.account}")
    data = started.json()["data"]
    challenge = md5(RAW_CHALLENGE + KEY)
    assert data == {
        "success": 1,
        "gt": GT,
        "challenge": challenge,
        "new_captcha": True,
        "enabled": True,
    }
    assert_error(await login(client, member.account), 400)  # answer fields missing
    wrong = {"challenge": challenge, "validate": "0" * 32, "seccode": "s|jordan"}
    assert_error(await login(client, member.account, **wrong), 403)
    await client.get(f"/mis/v1_0/captchas/{member.account}")
    right = {"challenge": challenge, "validate": md5(KEY + "geetest" + challenge), "seccode": "s"}
    assert (await login(client, member.account, **right)).status_code == 201
    assert [kind for kind, _ in geetest.requests] == ["register", "register", "validate"]
    # the state is used once
    assert_error(await login(client, member.account, **right), 403)


async def test_fallback_mode_when_geetest_is_down(client, staff, geetest):
    geetest.up = False
    member = await staff.member([])
    data = (await client.get(f"/mis/v1_0/captchas/{member.account}")).json()["data"]
    assert data["success"] == 0 and data["enabled"] is True and len(data["challenge"]) == 34
    answer = {"challenge": data["challenge"], "validate": md5(data["challenge"]), "seccode": "x"}
    assert (await login(client, member.account, **answer)).status_code == 201


def test_geetest_needs_its_keys(settings):
    from toutiao.config import Settings

    with pytest.raises(ValueError, match="MIS_GEETEST_ID"):
        Settings(**{**settings.model_dump(), "MIS_CAPTCHA": "geetest"})
