"""The gRPC side of operations: the standard health service on the recommender and the chat
assistant, and request ids that travel from the caller into the server's log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from toutiao.chat.client import ChatClient
from toutiao.chat.server import start_chat_server
from toutiao.kit import metrics
from toutiao.kit.grpc_ops import check_health, stop_server
from toutiao.kit.logs import request_id_var
from toutiao.rpc.client import RecoClient
from toutiao.rpc.server import start_rpc_server
from toutiao.runtime import Runtime


class SeenIds(logging.Handler):
    """Records the request id in force when each ``rpc.call`` line is emitted."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.__dict__.get("method", ""), request_id_var.get()))


@pytest.fixture
def seen_ids() -> Iterator[SeenIds]:
    handler = SeenIds()
    logger = logging.getLogger("toutiao.rpc.access")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def test_recommender_reports_its_services(runtime: Runtime) -> None:
    server, port = await start_rpc_server(runtime)
    target = f"127.0.0.1:{port}"
    try:
        for service in ("", "reco.UserRecommend", "UserRecommend"):
            assert await check_health(target, service), service
        assert not await check_health(target, "reco.Unknown")
    finally:
        await stop_server(server, 0)
    assert not await check_health(target, "reco.UserRecommend", deadline=0.3)


async def test_chat_assistant_reports_its_services(runtime: Runtime) -> None:
    server, port = await start_chat_server(runtime)
    target = f"127.0.0.1:{port}"
    try:
        assert await check_health(target, "chatbot.ChatBotService")
        assert await check_health(target, "ChatBotService")
        await server.health.enter_graceful_shutdown()  # what stop_server does first
        assert not await check_health(target, "chatbot.ChatBotService")
    finally:
        await stop_server(server, 0)


async def test_request_id_follows_calls_into_the_servers(
    runtime: Runtime, seen_ids: SeenIds
) -> None:
    reco_server, reco_port = await start_rpc_server(runtime)
    chat_server, chat_port = await start_chat_server(runtime)
    reco = RecoClient(f"127.0.0.1:{reco_port}", timeout=5)
    chat = ChatClient(f"127.0.0.1:{chat_port}", timeout=5)
    ok_before = metrics.RECO_CALLS.labels("article_recommend", "ok")._value.get()
    token = request_id_var.set("req-from-the-api")
    try:
        assert await reco.similar(1, 5) == []
        await chat.ask("1", "你好", 1_700_000_000_000)
    finally:
        request_id_var.reset(token)
        await reco.close()
        await chat.close()
        await stop_server(reco_server, 0)
        await stop_server(chat_server, 0)
    assert ("article_recommend", "req-from-the-api") in seen_ids.seen
    assert ("Chatbot", "req-from-the-api") in seen_ids.seen
    assert metrics.RECO_CALLS.labels("article_recommend", "ok")._value.get() == ok_before + 1


async def test_a_call_without_request_id_gets_one(runtime: Runtime, seen_ids: SeenIds) -> None:
    server, port = await start_rpc_server(runtime)
    reco = RecoClient(f"127.0.0.1:{port}", timeout=5)
    try:
        await reco.similar(1, 5)
    finally:
        await reco.close()
        await stop_server(server, 0)
    [(method, request_id)] = seen_ids.seen
    assert method == "article_recommend" and request_id and len(request_id) == 32


async def test_failures_count_as_fallbacks() -> None:
    before = metrics.RECO_FALLBACKS.labels("user_recommend", "UNAVAILABLE")._value.get()
    reco = RecoClient("127.0.0.1:1", timeout=0.3)
    try:
        assert await reco.user_recommend("1", 1, 10, 0) is None
    finally:
        await reco.close()
    after = metrics.RECO_FALLBACKS.labels("user_recommend", "UNAVAILABLE")._value.get()
    assert after == before + 1
