"""Client of the chat assistant, for the IM server.

``ask`` has a deadline and never raises: on any failure it logs a warning (at most one per
reason every ``WARN_EVERY`` seconds) and returns None, and the IM server answers with its
"assistant unavailable" reply instead of leaving the user without one.
One long-lived channel per client, created on first use inside the running event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time

import grpc

from toutiao.kit.grpc_ops import request_metadata
from toutiao.protos import chatbot_pb2, chatbot_pb2_grpc

log = logging.getLogger("toutiao.chat.client")

WARN_EVERY = 30.0
# A margin over the gRPC deadline before the asyncio guard gives up on a stuck call.
GUARD = 0.25
INT32_MAX = 2**31 - 1
CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5_000),
]


def epoch_seconds(timestamp: int) -> int:
    """The proto's int32 ``create_time`` from seconds or milliseconds (the web client sends
    ``Date.now()``); anything unusable means now."""
    if timestamp > INT32_MAX:
        timestamp //= 1000
    if 0 < timestamp <= INT32_MAX:
        return timestamp
    return int(time.time())


class ChatClient:
    def __init__(self, target: str, *, timeout: float = 3.0) -> None:
        self.target = target
        self.timeout = timeout
        self._channel: grpc.aio.Channel | None = None
        self._stub: chatbot_pb2_grpc.ChatBotServiceStub | None = None
        self._warned: dict[str, float] = {}

    def _get_stub(self) -> chatbot_pb2_grpc.ChatBotServiceStub:
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)
            self._stub = chatbot_pb2_grpc.ChatBotServiceStub(self._channel)
        return self._stub

    async def ask(self, user_id: str, message: str, timestamp: int) -> str | None:
        """The assistant's answer to ``message``, or None when it cannot be had in time."""
        try:
            request = chatbot_pb2.ReceivedMessage(
                user_id=str(user_id),
                user_message=str(message),
                create_time=epoch_seconds(int(timestamp)),
            )
            async with asyncio.timeout(self.timeout + GUARD):
                response = await self._get_stub().Chatbot(
                    request, timeout=self.timeout, metadata=request_metadata()
                )
        except grpc.aio.AioRpcError as exc:
            self._warn(exc.code().name, exc.details() or "")
        except TimeoutError:
            self._warn("GUARD_TIMEOUT", f"no answer in {self.timeout + GUARD:.2f}s")
        except Exception as exc:  # noqa: BLE001 - the contract is "never raise"
            self._warn(type(exc).__name__, str(exc))
        else:
            return response.user_response or None
        return None

    def _warn(self, reason: str, detail: str) -> None:
        now = time.monotonic()
        if now - self._warned.get(reason, -WARN_EVERY) >= WARN_EVERY:
            self._warned[reason] = now
            log.warning(
                "chat.call_failed reason=%s detail=%s target=%s", reason, detail[:200], self.target
            )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stub = None
