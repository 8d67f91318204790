"""The chat ``message`` event (app.md §4.3).

The assistant itself (``toutiao.chat``, gRPC) belongs to another module and is tested there.
Here ``runtime.chat`` is a small stand-in with the same ``ask(user_id, message, timestamp)``
coroutine: a collaborator stub for an interface this module only calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from toutiao.im import server
from toutiao.im.server import (
    CHAT_MAX_CHARS,
    CHAT_RATE,
    SLOW_DOWN_REPLY,
    TOO_LONG_REPLY,
    UNAVAILABLE_REPLY,
    ChatLimiter,
)
from toutiao.notify import now_ms
from toutiao.user.tokens import issue_token


class Assistant:
    """Answers ``echo: <message>``, or what ``behaviour`` says (None, raise, hang)."""

    def __init__(self, behaviour: str = "echo") -> None:
        self.behaviour = behaviour
        self.calls: list[tuple[str, str, int]] = []

    async def ask(self, user_id: str, message: str, timestamp: int) -> str | None:
        self.calls.append((user_id, message, timestamp))
        if self.behaviour == "none":
            return None
        if self.behaviour == "raise":
            raise ConnectionError("assistant down")
        if self.behaviour == "hang":
            await asyncio.sleep(30)
        return f"echo: {message}"


@pytest.fixture
def assistant(runtime, monkeypatch) -> Assistant:
    stub = Assistant()
    monkeypatch.setattr(runtime, "chat", stub)
    return stub


@pytest.fixture
async def anonymous(im, clients):
    client = await clients()
    await client.connect(im.url, "a=device-7")
    return client


async def settle() -> None:
    await asyncio.sleep(0.2)


def assert_reply(reply: Any, text: str) -> None:
    assert set(reply) == {"msg", "timestamp"}
    assert reply["msg"] == text
    assert type(reply["timestamp"]) is int and abs(now_ms() - reply["timestamp"]) < 60_000


class TestForwarding:
    async def test_anonymous_question_and_answer(self, anonymous, assistant):
        sent_at = now_ms() - 1000
        await anonymous.send({"msg": " 你好 ", "timestamp": sent_at, "userId": 1, "photo": "x"})
        (reply,) = await anonymous.wait_for("message")
        assert_reply(reply, "echo: 你好")
        assert assistant.calls == [("anon:device-7", "你好", sent_at)]

    async def test_user_is_identified_by_id(self, im, clients, factory, assistant):
        user = await factory.user()
        client = await clients()
        await client.connect(im.url, f"token={issue_token(factory.runtime.settings, user.user_id)}")
        await client.send({"msg": "hi"})  # no timestamp: the server's time is passed on
        assert_reply((await client.wait_for("message"))[0], "echo: hi")
        ((user_id, message, sent_at),) = assistant.calls
        assert (user_id, message) == (str(user.user_id), "hi")
        assert abs(now_ms() - sent_at) < 60_000

    async def test_replies_go_to_the_sender_only(self, im, clients, anonymous, assistant):
        other = await clients()
        await other.connect(im.url, "a=device-8")
        await anonymous.send({"msg": "one", "timestamp": 1})
        await anonymous.wait_for("message")
        await settle()
        assert other.received == []

    async def test_one_reply_per_message(self, anonymous, assistant):
        for index in range(3):
            await anonymous.send({"msg": f"q{index}", "timestamp": index})
        replies = await anonymous.wait_for("message", count=3)
        await settle()
        assert sorted(reply["msg"] for reply in anonymous.events("message")) == [
            "echo: q0",
            "echo: q1",
            "echo: q2",
        ]
        assert len(replies) == 3


class TestUnavailable:
    async def test_no_assistant_configured(self, anonymous, runtime, monkeypatch):
        monkeypatch.setattr(runtime, "chat", None)
        await anonymous.send({"msg": "在吗", "timestamp": now_ms()})
        assert_reply((await anonymous.wait_for("message"))[0], UNAVAILABLE_REPLY)

    @pytest.mark.parametrize("behaviour", ["none", "raise", "hang"])
    async def test_assistant_failing(self, anonymous, assistant, runtime, monkeypatch, behaviour):
        monkeypatch.setattr(runtime.settings, "CHATBOT_TIMEOUT", 0.1)
        monkeypatch.setattr(server, "CHAT_TIMEOUT_MARGIN", 0.1)
        assistant.behaviour = behaviour
        await anonymous.send({"msg": "在吗", "timestamp": now_ms()})
        assert_reply((await anonymous.wait_for("message"))[0], UNAVAILABLE_REPLY)


class TestInput:
    @pytest.mark.parametrize(
        "payload",
        ["just text", None, 42, [], {}, {"msg": ""}, {"msg": "   "}, {"msg": 5}, {"text": "hi"}],
    )
    async def test_invalid_payloads_are_ignored(self, anonymous, assistant, payload):
        await anonymous.send(payload)
        await anonymous.send({"msg": "valid", "timestamp": 1})
        (reply,) = await anonymous.wait_for("message")
        await settle()
        assert reply["msg"] == "echo: valid"
        assert len(anonymous.events("message")) == 1
        assert anonymous.sio.connected

    async def test_too_long(self, anonymous, assistant):
        await anonymous.send({"msg": "长" * (CHAT_MAX_CHARS + 1), "timestamp": 1})
        assert_reply((await anonymous.wait_for("message"))[0], TOO_LONG_REPLY)
        assert assistant.calls == []
        await anonymous.send({"msg": "长" * CHAT_MAX_CHARS, "timestamp": 2})
        await anonymous.wait_for("message", count=2)
        assert len(assistant.calls) == 1

    async def test_rate_limited_per_connection(self, im, clients, anonymous, assistant):
        for index in range(CHAT_RATE + 2):
            await anonymous.send({"msg": f"q{index}", "timestamp": index})
        replies = await anonymous.wait_for("message", count=CHAT_RATE + 2)
        texts = [reply["msg"] for reply in replies]
        assert texts.count(SLOW_DOWN_REPLY) == 2
        assert len(assistant.calls) == CHAT_RATE
        other = await clients()
        await other.connect(im.url, "a=device-7")  # same anonymous id, new connection
        await other.send({"msg": "fresh", "timestamp": 1})
        assert (await other.wait_for("message"))[0]["msg"] == "echo: fresh"


class TestChatLimiter:
    def test_sliding_window(self):
        now = [0.0]
        limiter = ChatLimiter(limit=2, window=10.0, clock=lambda: now[0])
        assert limiter.allow("s") and limiter.allow("s")
        assert not limiter.allow("s")
        assert limiter.allow("t")
        now[0] = 9.9
        assert not limiter.allow("s")
        now[0] = 10.0
        assert limiter.allow("s")
        limiter.forget("s")
        assert limiter.allow("s") and limiter.allow("s")
