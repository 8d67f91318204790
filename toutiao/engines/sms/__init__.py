"""SMS delivery of login codes, chosen by name (``TOUTIAO_SMS_PROVIDER``).

- ``log``: development only, nothing is sent and the code is logged;
- ``aliyun``: Aliyun Dysms ``SendSms`` (``TOUTIAO_SMS_ALIYUN_*`` settings).

A provider implements ``SmsProvider`` in its own module and is added to
``create_sms_provider``; a real one must never log the code (the original logged every code
in plain text, reference weakness §14.37).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from toutiao.config import Settings


class SmsError(Exception):
    """Unknown provider, or a provider that failed to deliver."""


@runtime_checkable
class SmsProvider(Protocol):
    name: str

    async def send_code(self, mobile: str, code: str) -> None: ...


def create_sms_provider(name: str, settings: Settings | None = None) -> SmsProvider:
    normalized = name.strip().lower()
    if normalized == "log":
        from toutiao.engines.sms.log import LogSmsProvider

        return LogSmsProvider()
    if normalized == "aliyun":
        from toutiao.engines.sms.aliyun import AliyunConfig, AliyunSmsProvider

        if settings is None:
            raise SmsError("the aliyun SMS provider needs settings")
        return AliyunSmsProvider(
            AliyunConfig(
                access_key_id=settings.SMS_ALIYUN_ACCESS_KEY_ID,
                access_key_secret=settings.SMS_ALIYUN_ACCESS_KEY_SECRET,
                sign_name=settings.SMS_ALIYUN_SIGN_NAME,
                template_code=settings.SMS_ALIYUN_TEMPLATE_CODE,
                endpoint=settings.SMS_ALIYUN_ENDPOINT,
                region=settings.SMS_ALIYUN_REGION,
                timeout=settings.SMS_TIMEOUT,
                retries=settings.SMS_RETRIES,
                backoff=settings.SMS_RETRY_BACKOFF,
            )
        )
    raise SmsError(f"unknown SMS provider {name!r} (available: log, aliyun)")


__all__ = ["SmsError", "SmsProvider", "create_sms_provider"]
