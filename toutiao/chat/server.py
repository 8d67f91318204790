"""The chat assistant's gRPC service: proto <-> :class:`toutiao.chat.assistant.Assistant`.

Served under ``chatbot.ChatBotService`` (our proto) and under ``ChatBotService``, the name
the original package-less proto uses. Every request gets an answer, never a gRPC error:
bad input, a flood of messages or a failing database each have their own polite reply.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from typing import Any

import grpc
from limits import RateLimitItem, parse

from toutiao.chat.assistant import RATE_LIMITED, Assistant
from toutiao.kit.errors import TooManyRequests
from toutiao.kit.grpc_ops import start_server
from toutiao.kit.ratelimit import RateLimiter
from toutiao.protos import chatbot_pb2, chatbot_pb2_grpc

log = logging.getLogger("toutiao.chat")

RATE = "20/minute"
LEGACY_SERVICE = "ChatBotService"
HEALTH_SERVICES = ("chatbot.ChatBotService", LEGACY_SERVICE)
MAX_USER_ID_CHARS = 128
TROUBLE = "抱歉，我遇到了一点问题，请稍后再试。"


class LocalWindow:
    """A per-process moving window: the fallback when Redis cannot count for us."""

    def __init__(self, item: RateLimitItem, *, max_keys: int = 10_000) -> None:
        self.amount = item.amount
        self.seconds = item.get_expiry()
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str) -> bool:
        now = time.monotonic()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        allowed = len(hits) < self.amount
        if allowed:
            hits.append(now)
        self._hits[key] = hits  # most recently used last
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return allowed


class ChatRateLimit:
    """``rule`` per user, counted in Redis (shared by every assistant process) when there
    is a limiter and it works, else in this process."""

    def __init__(self, limiter: RateLimiter | None = None, rule: str = RATE) -> None:
        self.limiter = limiter
        self.item = parse(rule)
        self.local = LocalWindow(self.item)

    async def allow(self, user_id: str) -> bool:
        key = user_id[:MAX_USER_ID_CHARS] or "-"
        if self.limiter is not None:
            try:
                await self.limiter.hit(self.item, "chat", key)
                return True
            except TooManyRequests:
                return False
            except Exception as exc:  # noqa: BLE001 - Redis down: count locally instead
                log.warning("chat.ratelimit_unavailable error=%s", type(exc).__name__)
        return self.local.hit(key)


class ChatBotServicer(chatbot_pb2_grpc.ChatBotServiceServicer):
    def __init__(self, assistant: Assistant, rate_limit: ChatRateLimit) -> None:
        self.assistant = assistant
        self.rate_limit = rate_limit

    async def Chatbot(  # the proto's method name
        self, request: chatbot_pb2.ReceivedMessage, context: grpc.aio.ServicerContext
    ) -> chatbot_pb2.ResponsedMessage:
        try:
            if await self.rate_limit.allow(request.user_id):
                reply = await self.assistant.answer(request.user_message)
            else:
                reply = RATE_LIMITED
        except Exception:
            log.exception("chat.answer_failed")
            reply = TROUBLE
        return chatbot_pb2.ResponsedMessage(user_response=reply, create_time=int(time.time()))


def _legacy_handlers(servicer: ChatBotServicer) -> grpc.GenericRpcHandler:
    handler = grpc.unary_unary_rpc_method_handler(
        servicer.Chatbot,
        request_deserializer=chatbot_pb2.ReceivedMessage.FromString,
        response_serializer=chatbot_pb2.ResponsedMessage.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(LEGACY_SERVICE, {"Chatbot": handler})


def _assistant(target: Any) -> tuple[Assistant, RateLimiter | None]:
    if isinstance(target, Assistant):
        return target, None
    return Assistant.from_runtime(target), target.limiter  # a Runtime


async def start_chat_server(
    target: Any, host: str = "127.0.0.1", port: int = 0, *, rate: str = RATE
) -> tuple[grpc.aio.Server, int]:
    """Start serving ``target`` (a Runtime or an Assistant); port 0 picks a free port.

    With a Runtime the rate limit is counted in its storage Redis; with a bare Assistant,
    in this process.
    """
    assistant, limiter = _assistant(target)
    servicer = ChatBotServicer(assistant, ChatRateLimit(limiter, rate))

    def register(server: grpc.aio.Server) -> None:
        chatbot_pb2_grpc.add_ChatBotServiceServicer_to_server(servicer, server)
        server.add_generic_rpc_handlers((_legacy_handlers(servicer),))

    server, bound = await start_server(
        register, health_services=HEALTH_SERVICES, host=host, port=port
    )
    log.info("chat.started address=%s port=%d", host, bound)
    return server, bound
