"""Running the chat assistant: inside ``toutiao rpc`` (next to the recommender), inside
``toutiao serve`` (in-process, on a loopback port).

``serve_chatbot`` starts the gRPC server on an existing runtime and stops it on exit;
``chatbot_in_process`` also points ``runtime.chat`` at it when no external assistant is
configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from toutiao.chat.client import ChatClient
from toutiao.chat.server import start_chat_server
from toutiao.config import Settings
from toutiao.kit import text
from toutiao.kit.grpc_ops import stop_server
from toutiao.runtime import Runtime

log = logging.getLogger("toutiao.chat")

STOP_GRACE = 5.0


def connect_chat(settings: Settings, target: str) -> ChatClient:
    return ChatClient(target, timeout=settings.CHATBOT_TIMEOUT)


@contextlib.asynccontextmanager
async def serve_chatbot(
    runtime: Runtime, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[int]:
    """Serve until the block exits; yields the bound port."""
    text.configure(runtime.settings.data_dir / "jieba")
    server, bound = await start_chat_server(runtime, host, port)
    # Load jieba's dictionary now, off the loop, rather than on the first question.
    warm = asyncio.create_task(asyncio.to_thread(text.tokens, ""))
    try:
        yield bound
    finally:
        await stop_server(server, STOP_GRACE)
        with contextlib.suppress(Exception):
            await warm
        log.info("chat.stopped port=%d", bound)


@contextlib.asynccontextmanager
async def chatbot_in_process(runtime: Runtime) -> AsyncIterator[int | None]:
    """For ``toutiao serve``: unless ``CHATBOT_TARGET`` names an external assistant (then
    ``runtime.chat`` already talks to it and this yields None), serve one on a free loopback
    port and point ``runtime.chat`` at it for the duration of the block."""
    if runtime.chat is not None:
        yield None
        return
    async with serve_chatbot(runtime) as port:
        runtime.chat = connect_chat(runtime.settings, f"127.0.0.1:{port}")
        try:
            yield port
        finally:
            client, runtime.chat = runtime.chat, None
            await client.close()
