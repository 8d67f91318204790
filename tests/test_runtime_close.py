"""Shutting a runtime down finishes even when one engine's close never does."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from toutiao import runtime as runtime_module
from toutiao.config import Settings
from toutiao.kit.migrate import upgrade
from toutiao.runtime import build_runtime


class StuckChat:
    """A client whose close ignores the first cancellation and then waits on."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.closed = False

    async def close(self) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await self.release.wait()  # swallows the cancellation, as a buggy driver might
        self.closed = True


async def test_a_stuck_closer_is_abandoned_and_the_rest_still_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime_module, "CLOSE_TIMEOUT_SECONDS", 0.2)
    settings = Settings(ENV="testing", DATA_DIR=tmp_path, DEMO=False, SMS_UNIVERSAL_CODE=None)
    await upgrade(settings.database_url)
    built = build_runtime(settings, name="close-test")
    await built.start()
    stuck = StuckChat()
    built.chat = stuck  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR, logger="toutiao.runtime"):
        await asyncio.wait_for(built.close(), timeout=30)
    assert "runtime.close_timeout StuckChat.close" in caplog.text
    assert built.broadcast is not None and built.broadcast._task is None  # closed after it
    stuck.release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert stuck.closed
