from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor

from tests.chat.conftest import Desk
from tests.rpc import wire
from toutiao.chat import assistant as chat
from toutiao.chat.assistant import Assistant
from toutiao.chat.client import ChatClient
from toutiao.chat.server import TROUBLE, ChatRateLimit, LocalWindow, start_chat_server
from toutiao.kit.errors import TooManyRequests
from toutiao.protos import chatbot_pb2
from toutiao.runtime import Runtime

PATHS = ["/chatbot.ChatBotService/Chatbot", "/ChatBotService/Chatbot"]


@pytest.fixture
async def port(runtime: Runtime) -> AsyncIterator[int]:
    server, bound = await start_chat_server(runtime, port=0)
    yield bound
    await server.stop(None)


@pytest.fixture
async def client(port: int) -> AsyncIterator[ChatClient]:
    bot = ChatClient(f"127.0.0.1:{port}", timeout=5)
    yield bot
    await bot.close()


async def raw_call(port: int, path: str, request: bytes) -> list[tuple[int, object]]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        raw = await channel.unary_unary(path)(request, timeout=5)
    return wire.decode(raw)


class TestRoundTrip:
    async def test_greeting_help_and_a_question(self, client: ChatClient, desk: Desk) -> None:
        article_id = await desk.article("人工智能芯片发布")
        assert await client.ask("1001", "你好", 1_700_000_000) == chat.GREETING
        assert await client.ask("1001", "帮助", 1_700_000_000) == chat.HELP
        reply = await client.ask("1001", "有没有关于人工智能的新闻", 1_700_000_000_000)
        assert reply == f"为您找到以下相关文章：\n1. 《人工智能芯片发布》（文章编号：{article_id}）"

    async def test_empty_and_over_long_input(self, client: ChatClient, runtime: Runtime) -> None:
        assert await client.ask("1001", "", 0) == chat.EMPTY
        assert await client.ask("1001", "长" * 100_000, -5) == chat.TOO_LONG

    async def test_anonymous_user(self, client: ChatClient, runtime: Runtime) -> None:
        assert await client.ask("", "谢谢", 0) == chat.THANKS


class TestWire:
    def test_descriptor_matches_the_original(self) -> None:
        received = chatbot_pb2.ReceivedMessage.DESCRIPTOR
        responded = chatbot_pb2.ResponsedMessage.DESCRIPTOR
        assert [(f.number, f.name, f.type) for f in received.fields] == [
            (1, "user_id", FieldDescriptor.TYPE_STRING),
            (2, "user_message", FieldDescriptor.TYPE_STRING),
            (3, "create_time", FieldDescriptor.TYPE_INT32),
        ]
        assert [(f.number, f.name, f.type) for f in responded.fields] == [
            (1, "user_response", FieldDescriptor.TYPE_STRING),
            (2, "create_time", FieldDescriptor.TYPE_INT32),
        ]
        (method,) = chatbot_pb2.DESCRIPTOR.services_by_name["ChatBotService"].methods
        assert (method.name, method.input_type.name, method.output_type.name) == (
            "Chatbot",
            "ReceivedMessage",
            "ResponsedMessage",
        )

    @pytest.mark.parametrize("path", PATHS)
    async def test_hand_built_bytes_on_both_paths(
        self, port: int, path: str, runtime: Runtime
    ) -> None:
        request = (
            wire.field_bytes(1, b"2001")
            + wire.field_bytes(2, "你好".encode())
            + wire.field_varint(3, 1_700_000_000)
        )
        before = int(time.time())
        fields = dict(await raw_call(port, path, request))
        assert set(fields) == {1, 2}
        assert fields[1] == chat.GREETING.encode()
        assert before <= fields[2] <= int(time.time())  # type: ignore[operator]

    async def test_empty_request_is_an_empty_message(self, port: int, runtime: Runtime) -> None:
        fields = dict(await raw_call(port, PATHS[1], b""))
        assert fields[1] == chat.EMPTY.encode()


class TestRateLimit:
    async def test_per_user_in_redis(self, runtime: Runtime) -> None:
        server, bound = await start_chat_server(runtime, port=0, rate="3/minute")
        bot = ChatClient(f"127.0.0.1:{bound}", timeout=5)
        try:
            replies = [await bot.ask("3001", "你好", 0) for _ in range(4)]
            assert replies == [chat.GREETING] * 3 + [chat.RATE_LIMITED]
            assert await bot.ask("3002", "你好", 0) == chat.GREETING
            keys = await runtime.store.keys("toutiao:limits*")
            assert any("chat" in key for key in keys)
        finally:
            await bot.close()
            await server.stop(None)

    async def test_empty_and_long_messages_count_too(self, runtime: Runtime) -> None:
        server, bound = await start_chat_server(runtime, port=0, rate="2/minute")
        bot = ChatClient(f"127.0.0.1:{bound}", timeout=5)
        try:
            assert await bot.ask("3003", "", 0) == chat.EMPTY
            assert await bot.ask("3003", "x" * 600, 0) == chat.TOO_LONG
            assert await bot.ask("3003", "你好", 0) == chat.RATE_LIMITED
        finally:
            await bot.close()
            await server.stop(None)

    async def test_counts_locally_when_redis_fails(self) -> None:
        class DownLimiter:
            async def hit(self, *args: object) -> None:
                raise ConnectionError("redis down")

        limit = ChatRateLimit(DownLimiter(), "2/minute")  # type: ignore[arg-type]
        assert [await limit.allow("u") for _ in range(3)] == [True, True, False]
        assert await limit.allow("v")

    async def test_redis_verdict_wins(self) -> None:
        class FullLimiter:
            async def hit(self, *args: object) -> None:
                raise TooManyRequests()

        limit = ChatRateLimit(FullLimiter(), "5/minute")  # type: ignore[arg-type]
        assert not await limit.allow("u")

    def test_local_window_slides_and_forgets_old_users(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        now = [1000.0]
        monkeypatch.setattr(time, "monotonic", lambda: now[0])
        window = LocalWindow(ChatRateLimit(None, "2/minute").item, max_keys=2)
        assert [window.hit("a"), window.hit("a"), window.hit("a")] == [True, True, False]
        now[0] += 61
        assert window.hit("a")
        window.hit("b")
        window.hit("c")
        assert list(window._hits) == ["b", "c"]


class TestNeverAnError:
    async def test_assistant_crash_is_a_polite_reply(self, runtime: Runtime) -> None:
        class Crashing(Assistant):
            async def answer(self, message: str) -> str:
                raise RuntimeError("bug")

        server, bound = await start_chat_server(Crashing(runtime.db), port=0)
        bot = ChatClient(f"127.0.0.1:{bound}", timeout=5)
        try:
            assert await bot.ask("4001", "足球", 0) == TROUBLE
        finally:
            await bot.close()
            await server.stop(None)
