"""Operator endpoints of a standalone IM node (``toutiao im``).

- ``/healthz``: liveness, with the number of open connections on this node;
- ``/readyz``: 200 when the storage Redis (identities, limits) and the message queue answer
  and this node's queue consumer is running, else 503;
- ``/metrics``: Prometheus exposition (Socket.IO connections among them).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import socketio
from starlette.types import Receive, Scope, Send

from toutiao.engines.mq import ping_mq
from toutiao.kit import metrics

PATHS = ("/healthz", "/readyz", "/metrics")


class ImOps:
    def __init__(self, sio: socketio.AsyncServer, runtime: Any) -> None:
        self.sio = sio
        self.runtime = runtime

    @staticmethod
    def handles(scope: Scope) -> bool:
        return scope.get("method") == "GET" and scope.get("path") in PATHS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path == "/metrics":
            body, content_type = await asyncio.to_thread(metrics.render)
            await _respond(send, 200, body, content_type)
        elif path == "/healthz":
            await _json(send, 200, {"status": "ok", "connections": self._connections()})
        else:
            checks = await self._checks()
            ready = all(checks.values())
            await _json(
                send,
                200 if ready else 503,
                {"status": "ready" if ready else "not ready", "checks": checks},
            )

    def _connections(self) -> int:
        """Sockets connected to this node (python-socketio keeps every sid in room None)."""
        return len(self.sio.manager.rooms.get("/", {}).get(None, {}))

    async def _checks(self) -> dict[str, bool]:
        consumer = getattr(self.sio.manager, "thread", None)
        storage, mq = await asyncio.gather(
            self.runtime.redis.storage.ping(), ping_mq(self.runtime.settings)
        )
        return {
            "redis_storage": storage,
            "mq": mq,
            "mq_consumer": consumer is None or not consumer.done(),
        }


async def _json(send: Send, status: int, payload: dict[str, Any]) -> None:
    await _respond(send, status, orjson.dumps(payload), "application/json")


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
