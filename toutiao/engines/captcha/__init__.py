"""GeeTest v3 (the captcha of the original console): the two server-side calls.

``register`` asks GeeTest for a challenge; when GeeTest does not answer, the v3 protocol
falls back to a locally made challenge that the browser widget checks on its own
("fallback mode", ``success = 0``). ``validate`` checks the browser's answer: in normal mode
against the private key and then with GeeTest; in fallback mode locally.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

import httpx

log = logging.getLogger("toutiao.captcha")

SDK = "toutiao-gt3"


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Registration:
    success: int  # 1: GeeTest answered; 0: fallback mode
    gt: str
    challenge: str


class GeeTest:
    def __init__(self, captcha_id: str, key: str, url: str, timeout: float = 3.0) -> None:
        self.captcha_id = captcha_id
        self.key = key
        self.url = url.rstrip("/")
        self.timeout = timeout

    async def register(self, client_ip: str) -> Registration:
        params = {
            "gt": self.captcha_id,
            "new_captcha": "1",
            "client_type": "web",
            "ip_address": client_ip,
            "json_format": "1",
            "sdk": SDK,
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(f"{self.url}/register.php", params=params)
            challenge = str(response.json().get("challenge", "")) if response.is_success else ""
        except (httpx.HTTPError, ValueError):
            log.warning("captcha.register_failed; fallback mode", exc_info=True)
            challenge = ""
        if len(challenge) == 32:
            return Registration(1, self.captcha_id, md5(challenge + self.key))
        fallback = md5(secrets.token_hex(16)) + md5(secrets.token_hex(16))[:2]
        return Registration(0, self.captcha_id, fallback)

    async def validate(self, online: bool, challenge: str, validate: str, seccode: str) -> bool:
        if not (challenge and validate and seccode):
            return False
        if not online:
            return secrets.compare_digest(validate, md5(challenge))
        if not secrets.compare_digest(validate, md5(self.key + "geetest" + challenge)):
            return False
        data = {
            "seccode": seccode,
            "challenge": challenge,
            "captchaid": self.captcha_id,
            "json_format": "1",
            "sdk": SDK,
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(f"{self.url}/validate.php", data=data)
            answer = str(response.json().get("seccode", "")) if response.is_success else ""
        except (httpx.HTTPError, ValueError):
            log.warning("captcha.validate_failed", exc_info=True)
            return False
        return secrets.compare_digest(answer, md5(seccode))
