"""SMS delivery of login codes, chosen by name (``TOUTIAO_SMS_PROVIDER``).

Only the development ``log`` provider exists so far. A real provider implements
``SmsProvider`` in its own module and is added to ``create_sms_provider``; it must never log
the code (the original logged every code in plain text, reference weakness §14.37).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class SmsError(Exception):
    """Unknown provider, or a provider that failed to deliver."""


@runtime_checkable
class SmsProvider(Protocol):
    name: str

    async def send_code(self, mobile: str, code: str) -> None: ...


def create_sms_provider(name: str) -> SmsProvider:
    normalized = name.strip().lower()
    if normalized == "log":
        from toutiao.engines.sms.log import LogSmsProvider

        return LogSmsProvider()
    raise SmsError(f"unknown SMS provider {name!r} (available: log)")


__all__ = ["SmsError", "SmsProvider", "create_sms_provider"]
