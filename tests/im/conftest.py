"""A real Socket.IO server on a loopback port and real ``socketio.AsyncClient`` connections.

``im`` serves ``create_im_asgi(sio, app)`` with uvicorn, the way ``toutiao serve`` does: the
HTTP API and Socket.IO on one port, notifications delivered in-process (``memory://``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import socketio
import uvicorn

from toutiao.config import Settings
from toutiao.im import close_sio, create_im_asgi, create_sio
from toutiao.main import create_app
from toutiao.runtime import Runtime


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with contextlib.closing(free_socket()) as sock:
        return int(sock.getsockname()[1])


def reachable(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


@contextlib.asynccontextmanager
async def serving(asgi: Any, *, lifespan: str = "on") -> AsyncIterator[str]:
    """Run ``asgi`` with uvicorn on a free loopback port for the duration of the block."""
    sock = free_socket()
    config = uvicorn.Config(
        asgi, lifespan=lifespan, log_level="warning", ws="wsproto", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            await task
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Im:
    url: str
    sio: socketio.AsyncServer
    http: httpx.AsyncClient


@pytest.fixture
async def im(settings: Settings, runtime: Runtime) -> AsyncIterator[Im]:
    sio = create_sio(settings, runtime)
    asgi = create_im_asgi(sio, create_app(settings, runtime=runtime))
    try:
        # A generous timeout: a loaded CI machine answers slowly, and a hang still fails.
        async with serving(asgi) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield Im(url=url, sio=sio, http=http)
    finally:
        await close_sio(sio, runtime)


class Client:
    """A Socket.IO client that records every event it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[str, Any]] = []
        self.refusal: Any = None
        self._arrived = asyncio.Condition()
        self.sio.on("message", self._message)
        self.sio.on("connect_error", self._refused)
        self.sio.on("*", self._any)

    async def _refused(self, data: Any) -> None:
        self.refusal = data

    async def _message(self, data: Any) -> None:
        await self._any("message", data)

    async def _any(self, event: str, data: Any = None) -> None:
        async with self._arrived:
            self.received.append((event, data))
            self._arrived.notify_all()

    def events(self, name: str) -> list[Any]:
        return [data for event, data in self.received if event == name]

    async def wait_for(self, name: str, count: int = 1, within: float = 5.0) -> list[Any]:
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.events(name)) >= count), within
            )
        return self.events(name)

    async def connect(self, url: str, query: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("transports", ["websocket"])
        await self.sio.connect(f"{url}?{query}" if query else url, wait_timeout=5, **kwargs)

    async def send(self, data: Any) -> None:
        await self.sio.emit("message", data)


@pytest.fixture
async def clients() -> AsyncIterator[Any]:
    """``await clients()`` makes an unconnected ``Client``; all are disconnected at the end."""
    made: list[Client] = []

    async def make() -> Client:
        made.append(Client())
        return made[-1]

    yield make
    for client in made:
        if client.sio.connected:
            await client.sio.disconnect()
        await client.sio.shutdown()


AMQP_URL = os.environ.get("TOUTIAO_TEST_AMQP_URL", "")
MQ_REDIS_URL = os.environ.get("TOUTIAO_TEST_REDIS_URL", "")


def amqp_url() -> str:
    """RabbitMQ from ``TOUTIAO_TEST_AMQP_URL`` (CI), else a local broker if one listens."""
    if AMQP_URL:
        return AMQP_URL
    if reachable("127.0.0.1", 5672):
        return "amqp://guest:guest@127.0.0.1:5672/"
    pytest.skip("no RabbitMQ: set TOUTIAO_TEST_AMQP_URL")


def redis_mq_url() -> str:
    if MQ_REDIS_URL:
        return MQ_REDIS_URL
    if reachable("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    pytest.skip("no Redis server: set TOUTIAO_TEST_REDIS_URL")
