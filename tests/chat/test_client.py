from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from toutiao.chat import assistant as chat
from toutiao.chat.assistant import Assistant
from toutiao.chat.client import ChatClient, epoch_seconds
from toutiao.chat.main import chatbot_in_process, serve_chatbot
from toutiao.chat.server import start_chat_server
from toutiao.config import Settings
from toutiao.runtime import Runtime, build_runtime


class SlowAssistant(Assistant):
    async def answer(self, message: str) -> str:
        await asyncio.sleep(3)
        return "too late"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestDegradation:
    async def test_none_quickly_when_nothing_listens(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        client = ChatClient(f"127.0.0.1:{_free_port()}", timeout=0.3)
        try:
            with caplog.at_level(logging.WARNING, logger="toutiao.chat.client"):
                started = time.monotonic()
                assert await client.ask("1", "你好", 0) is None
                assert await client.ask("1", "你好", 0) is None
                assert time.monotonic() - started < 1.5
            assert caplog.text.count("chat.call_failed") == 1  # one warning per reason
        finally:
            await client.close()

    async def test_none_within_the_deadline_when_the_server_is_slow(self, runtime: Runtime) -> None:
        server, port = await start_chat_server(SlowAssistant(runtime.db))
        client = ChatClient(f"127.0.0.1:{port}", timeout=0.2)
        try:
            started = time.monotonic()
            assert await client.ask("1", "足球", 0) is None
            assert time.monotonic() - started < 1.0
        finally:
            await client.close()
            await server.stop(None)

    async def test_back_when_the_server_returns(self, runtime: Runtime) -> None:
        server, port = await start_chat_server(Assistant(runtime.db))
        client = ChatClient(f"127.0.0.1:{port}", timeout=0.3)
        try:
            assert await client.ask("1", "你好", 0) == chat.GREETING
            await server.stop(None)
            assert await client.ask("1", "你好", 0) is None
            server, _ = await start_chat_server(Assistant(runtime.db), port=port)
            for _ in range(40):
                if await client.ask("1", "你好", 0) is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the client did not reconnect")
        finally:
            await client.close()
            await server.stop(None)

    async def test_close_then_reuse(self, runtime: Runtime) -> None:
        server, port = await start_chat_server(Assistant(runtime.db))
        client = ChatClient(f"127.0.0.1:{port}", timeout=2)
        try:
            await client.close()  # never opened: a no-op
            assert await client.ask("1", "谢谢", 0) == chat.THANKS
            await client.close()
            assert await client.ask("1", "谢谢", 0) == chat.THANKS
        finally:
            await client.close()
            await server.stop(None)


class TestEpochSeconds:
    @pytest.mark.parametrize(
        ("timestamp", "expected"),
        [(1_700_000_000, 1_700_000_000), (1_700_000_000_123, 1_700_000_000)],
    )
    def test_seconds_or_milliseconds(self, timestamp: int, expected: int) -> None:
        assert epoch_seconds(timestamp) == expected

    @pytest.mark.parametrize("timestamp", [0, -1, 10**20])
    def test_unusable_means_now(self, timestamp: int) -> None:
        assert abs(epoch_seconds(timestamp) - time.time()) < 2


class TestRunning:
    async def test_serve_chatbot_serves_then_stops(self, runtime: Runtime) -> None:
        async with serve_chatbot(runtime) as port:
            client = ChatClient(f"127.0.0.1:{port}", timeout=5)
            assert await client.ask("1", "你好", 0) == chat.GREETING
        try:
            assert await client.ask("1", "你好", 0) is None
        finally:
            await client.close()

    async def test_in_process_points_the_runtime_at_it(self, runtime: Runtime) -> None:
        assert runtime.chat is None
        async with chatbot_in_process(runtime) as port:
            assert port is not None
            assert await runtime.chat.ask("1", "帮助", int(time.time() * 1000)) == chat.HELP
        assert runtime.chat is None

    async def test_in_process_leaves_an_external_assistant_alone(self, runtime: Runtime) -> None:
        external = ChatClient("127.0.0.1:1")
        runtime.chat = external
        try:
            async with chatbot_in_process(runtime) as port:
                assert port is None
                assert runtime.chat is external
        finally:
            runtime.chat = None

    async def test_runtime_connects_to_a_configured_assistant(self, settings: Settings) -> None:
        configured = settings.model_copy(
            update={"CHATBOT_TARGET": f"127.0.0.1:{_free_port()}", "CHATBOT_TIMEOUT": 0.2}
        )
        own = build_runtime(configured, name="chat-test")
        try:
            assert isinstance(own.chat, ChatClient)
            assert own.chat.timeout == 0.2
            assert await own.chat.ask("1", "你好", 0) is None
        finally:
            await own.close()
        assert own.chat._channel is None  # closed with the runtime
