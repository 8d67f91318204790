from __future__ import annotations

import logging

import pytest

from toutiao.engines.sms import SmsError, SmsProvider, create_sms_provider
from toutiao.engines.sms.log import LogSmsProvider


class TestCreate:
    @pytest.mark.parametrize("name", ["log", " LOG "])
    def test_log_provider(self, name: str) -> None:
        provider = create_sms_provider(name)
        assert isinstance(provider, LogSmsProvider)
        assert isinstance(provider, SmsProvider)
        assert provider.name == "log"

    @pytest.mark.parametrize("name", ["twilio", "", "logger"])
    def test_unknown_name(self, name: str) -> None:
        with pytest.raises(SmsError, match="unknown SMS provider"):
            create_sms_provider(name)


class TestLogProvider:
    async def test_logs_mobile_and_code(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="toutiao.sms")
        await LogSmsProvider().send_code("13911112222", "024680")
        [record] = [r for r in caplog.records if r.name == "toutiao.sms"]
        assert record.levelno == logging.INFO
        assert "13911112222" in record.getMessage()
        assert "024680" in record.getMessage()

    async def test_remembers_last_code(self) -> None:
        provider = LogSmsProvider()
        assert provider.last_code("13911112222") is None
        await provider.send_code("13911112222", "111111")
        await provider.send_code("13911112222", "222222")
        await provider.send_code("13733334444", "333333")
        assert provider.last_code("13911112222") == "222222"
        assert provider.last_code("13733334444") == "333333"

    async def test_memory_is_bounded(self) -> None:
        provider = LogSmsProvider(remember=2)
        await provider.send_code("13000000001", "000001")
        await provider.send_code("13000000002", "000002")
        await provider.send_code("13000000001", "000011")  # refreshed: now the newest
        await provider.send_code("13000000003", "000003")
        assert provider.last_code("13000000002") is None
        assert provider.last_code("13000000001") == "000011"
        assert provider.last_code("13000000003") == "000003"
