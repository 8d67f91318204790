"""The login captcha switch (mis.md M01, M02): off (the default) or GeeTest v3.

The state of an attempt lives on the server for 5 minutes, keyed by account, and is used
once (GETDEL): ``"1"`` when GeeTest registered the challenge, ``"0"`` in fallback mode.
"""

from __future__ import annotations

from typing import TypedDict

from toutiao.engines.captcha import GeeTest
from toutiao.kit.errors import BadRequest, Forbidden
from toutiao.runtime import Runtime

STATE_SECONDS = 300


class CaptchaStart(TypedDict):
    success: int
    gt: str
    challenge: str
    new_captcha: bool
    enabled: bool


OFF: CaptchaStart = {
    "success": 0,
    "gt": "",
    "challenge": "",
    "new_captcha": True,
    "enabled": False,
}


def enabled(runtime: Runtime) -> bool:
    return runtime.settings.MIS_CAPTCHA == "geetest"


def _geetest(runtime: Runtime) -> GeeTest:
    s = runtime.settings
    return GeeTest(s.MIS_GEETEST_ID, s.MIS_GEETEST_KEY, s.MIS_GEETEST_URL, s.MIS_GEETEST_TIMEOUT)


def _state_key(account: str) -> str:
    return f"mis:capt:{account.lower()}"


async def start(runtime: Runtime, account: str, client_ip: str) -> CaptchaStart:
    if not enabled(runtime):
        return OFF
    registration = await _geetest(runtime).register(client_ip)
    await runtime.store.set(_state_key(account), str(registration.success), ex=STATE_SECONDS)
    return {
        "success": registration.success,
        "gt": registration.gt,
        "challenge": registration.challenge,
        "new_captcha": True,
        "enabled": True,
    }


async def check(
    runtime: Runtime, account: str, challenge: str | None, validate: str | None, seccode: str | None
) -> None:
    """With captchas on: 400 when the answer fields are missing, 403 when it fails."""
    if not enabled(runtime):
        return
    if not (challenge and validate and seccode):
        raise BadRequest("challenge, validate and seccode are required.")
    state = await runtime.store.getdel(_state_key(account))
    if state is None:
        raise Forbidden("Captcha expired, please try again.")
    if not await _geetest(runtime).validate(state == "1", challenge, validate, seccode):
        raise Forbidden("Captcha failed.")
