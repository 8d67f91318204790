"""The Aliyun Dysms provider against a local HTTP server that checks what Aliyun would check:
the signature (recomputed here from the received parameters), the parameters of SendSms, a
fresh nonce per attempt; and answers with scripted results to exercise the retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote

import pytest

from toutiao.config import Settings
from toutiao.engines.sms import SmsError, create_sms_provider
from toutiao.engines.sms.aliyun import AliyunSmsProvider, sign

SECRET = "test-secret-0123456789"
KEY_ID = "LTAI-test-key"


def _expected_signature(params: dict[str, str]) -> str:
    """Aliyun RPC signature v1, written out independently of the provider's helper."""
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    text = "POST&%2F&" + quote(query, safe="")
    digest = hmac.new((SECRET + "&").encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class FakeDysms:
    """Answers scripted (status, body) pairs in order, the last one forever."""

    script: list[tuple[int, dict[str, str] | None]] = field(
        default_factory=lambda: [(200, {"Code": "OK", "Message": "OK", "BizId": "1"})]
    )
    received: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    url: str = ""

    def check(self, params: dict[str, str]) -> None:
        expected = {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "Format": "JSON",
            "AccessKeyId": KEY_ID,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "RegionId": "cn-hangzhou",
            "SignName": "头条",
            "TemplateCode": "SMS_0001",
        }
        for key, value in expected.items():
            if params.get(key) != value:
                self.problems.append(f"{key}={params.get(key)!r}")
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", params.get("Timestamp", "")):
            self.problems.append("Timestamp")
        if params.get("Signature") != _expected_signature(params):
            self.problems.append("Signature")

    def answer(self) -> tuple[int, dict[str, str] | None]:
        index = min(len(self.received) - 1, len(self.script) - 1)
        return self.script[index]


@pytest.fixture
def dysms() -> Iterator[FakeDysms]:
    fake = FakeDysms()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            fake.received.append(params)
            fake.check(params)
            status, body = fake.answer()
            if body is None:  # simulate a server that never answers in time
                time.sleep(1.0)
                body = {"Code": "OK"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _provider(url: str, **overrides: object) -> AliyunSmsProvider:
    values: dict[str, object] = {
        "SMS_PROVIDER": "aliyun",
        "SMS_ALIYUN_ACCESS_KEY_ID": KEY_ID,
        "SMS_ALIYUN_ACCESS_KEY_SECRET": SECRET,
        "SMS_ALIYUN_SIGN_NAME": "头条",
        "SMS_ALIYUN_TEMPLATE_CODE": "SMS_0001",
        "SMS_ALIYUN_ENDPOINT": url,
        "SMS_RETRY_BACKOFF": 0.01,
        "SMS_TIMEOUT": 0.3,
    }
    values.update(overrides)
    provider = create_sms_provider("aliyun", Settings(**values))
    assert isinstance(provider, AliyunSmsProvider)
    return provider


def test_signature_matches_aliyuns_documented_example() -> None:
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert sign(params, "testsecret", "GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


async def test_sends_a_signed_request(dysms: FakeDysms, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    provider = _provider(dysms.url)
    try:
        await provider.send_code("13911112222", "024680")
    finally:
        await provider.close()
    [params] = dysms.received
    assert dysms.problems == []
    assert params["PhoneNumbers"] == "13911112222"
    assert json.loads(params["TemplateParam"]) == {"code": "024680"}
    assert "024680" not in caplog.text  # the code is never logged


async def test_a_tampered_signature_is_detected(dysms: FakeDysms) -> None:
    """The server's check can fail: a wrong secret produces a signature it rejects."""
    provider = _provider(dysms.url, SMS_ALIYUN_ACCESS_KEY_SECRET="another-secret")
    try:
        await provider.send_code("13911112222", "024680")
    finally:
        await provider.close()
    assert dysms.problems == ["Signature"]


async def test_transient_failures_are_retried_with_fresh_nonces(dysms: FakeDysms) -> None:
    dysms.script = [
        (503, {"Code": "ServiceUnavailable"}),
        (200, {"Code": "isp.SYSTEM_ERROR", "Message": "busy"}),
        (200, {"Code": "OK", "BizId": "2"}),
    ]
    provider = _provider(dysms.url)
    try:
        await provider.send_code("13911112222", "135790")
    finally:
        await provider.close()
    assert len(dysms.received) == 3
    assert dysms.problems == []
    assert len({p["SignatureNonce"] for p in dysms.received}) == 3


async def test_timeouts_are_retried_then_given_up(dysms: FakeDysms) -> None:
    dysms.script = [(200, None)]  # never answers within SMS_TIMEOUT
    provider = _provider(dysms.url, SMS_RETRIES=2)
    try:
        with pytest.raises(SmsError, match="unreachable"):
            await provider.send_code("13911112222", "135790")
    finally:
        await provider.close()
    assert len(dysms.received) == 3  # one attempt plus two retries, then it stops


async def test_a_final_refusal_is_not_retried(dysms: FakeDysms) -> None:
    dysms.script = [(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"})]
    provider = _provider(dysms.url)
    try:
        with pytest.raises(SmsError, match="MOBILE_NUMBER_ILLEGAL"):
            await provider.send_code("13911112222", "135790")
    finally:
        await provider.close()
    assert len(dysms.received) == 1


async def test_send_code_endpoint_through_aliyun(dysms: FakeDysms, settings, runtime) -> None:
    """The app's SMS endpoint delivers through the provider chosen by settings."""
    import dataclasses

    import httpx
    from asgi_lifespan import LifespanManager

    from toutiao.engines.tasks.local import LocalQueue
    from toutiao.main import create_app
    from toutiao.worker.jobs import JOBS

    configured = settings.model_copy(
        update={"SMS_PROVIDER": "aliyun", "SMS_ALIYUN_ENDPOINT": dysms.url}
    )
    provider = _provider(dysms.url)
    delivering = dataclasses.replace(runtime, sms=provider)
    delivering.tasks = LocalQueue(JOBS, delivering)  # the tests' task tier, on this runtime
    app = create_app(configured, runtime=delivering)
    try:
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://t"
            ) as client,
        ):
            response = await client.get("/app/v1_0/sms/codes/13900001111")
    finally:
        await provider.close()
    assert response.status_code == 200, response.text
    [params] = dysms.received
    assert params["PhoneNumbers"] == "13900001111"
    code = json.loads(params["TemplateParam"])["code"]
    assert await runtime.store.get("app:code:13900001111") == code
