"""Aliyun Dysms (the provider the original used): ``SendSms`` over Aliyun's RPC API.

Every request is signed as Aliyun's RPC signature version 1.0 prescribes: the parameters
(signature excluded) are sorted, percent-encoded per RFC 3986 into a canonical query, the
string ``POST&%2F&<encoded canonical query>`` is signed with HMAC-SHA1 keyed by
``<AccessKeySecret>&``, and the base64 digest travels as ``Signature``.

Delivery is bounded: each attempt has a timeout, transient failures (network, timeouts, 5xx,
Aliyun's throttling and system errors) are retried a few times with exponential backoff and
jitter, and anything else (a wrong template, an invalid number, the per-number business limit)
fails at once. The code itself is never logged (reference weakness §14.37).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from toutiao.engines.sms import SmsError

log = logging.getLogger("toutiao.sms")

API_VERSION = "2017-05-25"
DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
# Aliyun codes worth another attempt; every other non-OK code is final.
TRANSIENT_CODES = frozenset({"isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "Throttling"})


class TransientSmsError(SmsError):
    """A failure another attempt may cure."""


@dataclass(frozen=True)
class AliyunConfig:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    endpoint: str = DEFAULT_ENDPOINT
    region: str = "cn-hangzhou"
    timeout: float = 5.0
    retries: int = 3  # attempts after the first
    backoff: float = 0.5  # first wait, doubled each retry (plus jitter)


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun signs it: only ``A-Z a-z 0-9 - _ . ~`` stay literal."""
    return quote(value, safe="-_.~")


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))


def sign(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """The ``Signature`` of ``params`` (which must not contain one)."""
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsProvider:
    name = "aliyun"

    def __init__(self, config: AliyunConfig, *, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def request_params(self, mobile: str, code: str) -> dict[str, str]:
        """The signed parameters of one ``SendSms`` call."""
        config = self.config
        params = {
            "AccessKeyId": config.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": mobile,
            "RegionId": config.region,
            "SignName": config.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(16),
            "SignatureVersion": "1.0",
            "TemplateCode": config.template_code,
            "TemplateParam": orjson.dumps({"code": code}).decode(),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        params["Signature"] = sign(params, config.access_key_secret)
        return params

    async def send_code(self, mobile: str, code: str) -> None:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.retries + 1),
            wait=wait_exponential(multiplier=self.config.backoff, max=self.config.backoff * 8)
            + wait_random(0, self.config.backoff),
            retry=retry_if_exception_type(TransientSmsError),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._attempt(mobile, code, attempt.retry_state.attempt_number)

    async def _attempt(self, mobile: str, code: str, number: int) -> None:
        try:
            response = await self._http().post(
                self.config.endpoint, data=self.request_params(mobile, code)
            )
        except httpx.HTTPError as exc:
            log.warning("sms.aliyun_unreachable attempt=%d error=%s", number, type(exc).__name__)
            raise TransientSmsError(f"Aliyun SMS unreachable: {type(exc).__name__}") from exc
        body = _json(response)
        result = str(body.get("Code", "")) or f"HTTP {response.status_code}"
        if response.status_code == 200 and result == "OK":
            log.info(
                "sms.sent provider=aliyun mobile=%s biz_id=%s", _masked(mobile), body.get("BizId")
            )
            return
        log.warning(
            "sms.aliyun_refused attempt=%d status=%d code=%s message=%s request_id=%s",
            number,
            response.status_code,
            result,
            str(body.get("Message", ""))[:200],
            body.get("RequestId"),
        )
        transient = response.status_code >= 500 or result in TRANSIENT_CODES
        error = TransientSmsError if transient else SmsError
        raise error(f"Aliyun SMS refused the message: {result}")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.config.timeout), transport=self._transport
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _masked(mobile: str) -> str:
    return mobile[:3] + "****" + mobile[-4:] if len(mobile) >= 11 else "***"
