"""The Socket.IO server (app.md §4): notifications to users' rooms and the chat assistant.

- Connect: ``token=<access JWT>`` (no ``Bearer``) or an anonymous ``a=<id>`` in the query
  string (or the same keys in the Socket.IO ``auth`` payload). A token wins over ``a``; a bad,
  expired or refresh token, a disabled or unknown user, or no identity at all is refused
  (``connect_error``). A user's connections join ``user:<id>``; anonymous connections join no
  room but their own sid, so an ``a`` that looks like a user id receives nothing (§14.36).
- Chat: each ``message`` ``{msg, timestamp}`` goes to ``runtime.chat.ask`` and the answer comes
  back to that connection as ``message`` ``{msg, timestamp}`` (ms). Invalid payloads (not an
  object, missing or blank ``msg``) are ignored as §4.3 says; too long, too fast, or no
  assistant each get a polite reply instead of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import socketio
from socketio.exceptions import ConnectionRefusedError as Refused
from starlette.types import ASGIApp, Receive, Scope, Send

from toutiao.config import Settings
from toutiao.engines.mq import (
    create_client_manager,
    disconnect_room,
    mq_kind,
    socket_room,
    user_room,
)
from toutiao.engines.mq.base import SIGN_OUT, MemoryNotifier
from toutiao.im.ops import ImOps
from toutiao.kit import metrics
from toutiao.notify import now_ms
from toutiao.runtime import Runtime, build_runtime
from toutiao.user import service as user_service
from toutiao.user.tokens import verify_token

log = logging.getLogger("toutiao.im")

SOCKETIO_PATHS = ("/socket.io/", "/app/socket.io/")  # the second is the YApi path (§5.8)
MAX_PACKET_BYTES = 64 * 1024
ANONYMOUS_ID_MAX = 64
CHAT_MAX_CHARS = 500
CHAT_RATE = 5  # messages per connection ...
CHAT_WINDOW = 10.0  # ... per this many seconds
CHAT_TIMEOUT_MARGIN = 1.0  # on top of CHATBOT_TIMEOUT, which the chat client applies itself

UNAVAILABLE_REPLY = "抱歉，智能助手暂时不在线，请稍后再试。"
TOO_LONG_REPLY = f"消息太长了，请把问题控制在 {CHAT_MAX_CHARS} 字以内。"
SLOW_DOWN_REPLY = "消息发得有点快，请稍等几秒再问我。"


class ImConfigError(RuntimeError):
    """Settings a standalone IM server cannot run with."""


@dataclass(frozen=True)
class Identity:
    user_id: int | None = None
    anonymous_id: str | None = None

    @property
    def chat_user(self) -> str:
        """Who the assistant talks to; anonymous ids are prefixed so they never pass for users."""
        return str(self.user_id) if self.user_id is not None else f"anon:{self.anonymous_id}"


class ChatLimiter:
    """Sliding window of accepted messages per connection (in memory: a sid lives here)."""

    def __init__(
        self,
        limit: int = CHAT_RATE,
        window: float = CHAT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._sent: dict[str, deque[float]] = {}

    def allow(self, sid: str) -> bool:
        now = self.clock()
        sent = self._sent.setdefault(sid, deque())
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        if len(sent) >= self.limit:
            return False
        sent.append(now)
        return True

    def forget(self, sid: str) -> None:
        self._sent.pop(sid, None)


class LocalDelivery:
    """A ``MemoryNotifier`` listener handing events to the Socket.IO server in this process."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def __call__(self, event: str, data: dict[str, Any], room: str) -> None:
        if event == SIGN_OUT:
            await disconnect_room(self.sio.manager, socket_room(room))
            return
        await self.sio.emit(event, data, to=socket_room(room))


def _first(query: dict[str, list[str]], auth: Any, key: str) -> str:
    if query.get(key):
        return query[key][0].strip()
    value = auth.get(key) if isinstance(auth, dict) else None
    return value.strip() if isinstance(value, str) else ""


async def authenticate(runtime: Runtime, environ: dict[str, Any], auth: Any) -> Identity:
    """The connection's identity, or ``ConnectionRefusedError`` (the client's connect_error)."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    token = _first(query, auth, "token").removeprefix("Bearer ").strip()
    if token:
        claims = verify_token(runtime.settings, token)
        if claims is None or claims.refresh:
            raise Refused("invalid token")
        try:
            enabled = await user_service.is_enabled(runtime, claims.user_id)
        except Exception:
            log.exception("im.auth_unavailable user_id=%s", claims.user_id)
            raise Refused("service unavailable") from None
        if not enabled:
            raise Refused("user denied")
        return Identity(user_id=claims.user_id)
    anonymous_id = _first(query, auth, "a")
    if not anonymous_id:
        raise Refused("token or anonymous id required")
    if len(anonymous_id) > ANONYMOUS_ID_MAX or not anonymous_id.isprintable():
        raise Refused("invalid anonymous id")
    return Identity(anonymous_id=anonymous_id)


class ImHandlers:
    def __init__(self, sio: socketio.AsyncServer, runtime: Runtime) -> None:
        self.sio = sio
        self.runtime = runtime
        self.identities: dict[str, Identity] = {}
        self.limiter = ChatLimiter()

    def register(self) -> None:
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        self.sio.on("message", self.message)

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        identity = await authenticate(self.runtime, environ, auth)
        self.identities[sid] = identity
        metrics.SOCKETIO_CONNECTIONS.inc()
        if identity.user_id is not None:
            await self.sio.enter_room(sid, user_room(identity.user_id))

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        if self.identities.pop(sid, None) is not None:
            metrics.SOCKETIO_CONNECTIONS.dec()
        self.limiter.forget(sid)

    async def message(self, sid: str, data: Any = None) -> None:
        identity = self.identities.get(sid)
        if identity is None or not isinstance(data, dict):
            return
        text = data.get("msg")
        text = text.strip() if isinstance(text, str) else ""
        if not text:
            return
        if len(text) > CHAT_MAX_CHARS:
            await self.reply(sid, TOO_LONG_REPLY)
        elif not self.limiter.allow(sid):
            await self.reply(sid, SLOW_DOWN_REPLY)
        else:
            sent_at = data.get("timestamp")
            if type(sent_at) is not int or not 0 < sent_at < 2**53:
                sent_at = now_ms()  # the client's clock in ms, else ours
            await self.reply(sid, await self.ask(identity, text, sent_at))

    async def ask(self, identity: Identity, text: str, sent_at: int) -> str:
        chat = self.runtime.chat
        if chat is None:
            return UNAVAILABLE_REPLY
        budget = self.runtime.settings.CHATBOT_TIMEOUT + CHAT_TIMEOUT_MARGIN
        try:
            answer = await asyncio.wait_for(chat.ask(identity.chat_user, text, sent_at), budget)
        except TimeoutError:
            log.warning("im.chat_timeout user=%s after %.1fs", identity.chat_user, budget)
            return UNAVAILABLE_REPLY
        except Exception:
            log.exception("im.chat_failed user=%s", identity.chat_user)
            return UNAVAILABLE_REPLY
        return answer if isinstance(answer, str) and answer.strip() else UNAVAILABLE_REPLY

    async def reply(self, sid: str, text: str) -> None:
        # The sender is connected here: no need to go through the message queue.
        payload = {"msg": text, "timestamp": now_ms()}
        await self.sio.emit("message", payload, to=sid, ignore_queue=True)


def _cors(settings: Settings) -> str | list[str] | None:
    origins = settings.cors_origins
    if not origins:
        return None  # same origin only; native apps send no Origin
    return "*" if "*" in origins else list(origins)


def create_sio(
    settings: Settings, runtime: Runtime, *, client_manager: Any = None
) -> socketio.AsyncServer:
    """The server; its manager consumes ``TOUTIAO_MQ_URL`` unless ``client_manager`` is given.

    With the in-process notifier (``memory://``) the server also registers itself as the
    notifier's listener, so the API in this process reaches these sockets directly.
    """
    if client_manager is None:
        client_manager = create_client_manager(settings)
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=client_manager,
        cors_allowed_origins=_cors(settings),
        max_http_buffer_size=MAX_PACKET_BYTES,
        logger=False,
        engineio_logger=False,
    )
    ImHandlers(sio, runtime).register()
    if isinstance(runtime.notifier, MemoryNotifier):
        runtime.notifier.listeners.append(LocalDelivery(sio))
    return sio


class ImAsgi:
    """Socket.IO at ``/socket.io/`` and ``/app/socket.io/``; anything else goes to ``other_app``
    (the HTTP API, lifespan included) or, standalone, to the operator endpoints
    (``/healthz``, ``/readyz``, ``/metrics``) or a 404."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        other_app: ASGIApp | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        self.engine = socketio.ASGIApp(sio, socketio_path=None)
        self.other_app = other_app
        self.ops = ImOps(sio, runtime) if runtime is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self._is_socketio(scope["path"]):
            await self.engine(scope, receive, send)
        elif self.other_app is not None:
            await self.other_app(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _bare_lifespan(receive, send)
        elif scope["type"] == "http" and self.ops is not None and self.ops.handles(scope):
            await self.ops(scope, receive, send)
        elif scope["type"] == "http":
            await self.engine.not_found(receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})

    @staticmethod
    def _is_socketio(path: str) -> bool:
        path = path if path.endswith("/") else path + "/"
        return path.startswith(SOCKETIO_PATHS)


async def _bare_lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_im_asgi(
    sio: socketio.AsyncServer, other_app: ASGIApp | None = None, runtime: Runtime | None = None
) -> ImAsgi:
    return ImAsgi(sio, other_app, runtime)


def start_fanout(sio: socketio.AsyncServer) -> None:
    """Start consuming the message queue now rather than at the first connection (the stock
    behaviour), so nothing published before the first client arrives is missed by a node."""
    if not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()


async def close_sio(sio: socketio.AsyncServer, runtime: Runtime | None = None) -> None:
    """Stop the queue consumer and Socket.IO's background tasks; unhook local delivery."""
    thread = getattr(sio.manager, "thread", None)
    if isinstance(thread, asyncio.Task):
        thread.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await thread
    close = getattr(sio.manager, "close_connections", None)
    if close is not None:
        await close()
    await sio.shutdown()
    if runtime is not None and isinstance(runtime.notifier, MemoryNotifier):
        runtime.notifier.listeners[:] = [
            listener
            for listener in runtime.notifier.listeners
            if not (isinstance(listener, LocalDelivery) and listener.sio is sio)
        ]


async def run_im(settings: Settings, host: str, port: int) -> None:
    """``toutiao im``: a Socket.IO node fed by the message queue, for production.

    SIGTERM/SIGINT end ``serve()`` normally, so the queue consumer, the worker-id lease and
    an embedded Redis are released before the process exits.
    """
    import uvicorn

    from toutiao.kit.graceful import GracefulServer

    if mq_kind(settings.MQ_URL) == "memory":
        raise ImConfigError(
            "toutiao im runs apart from the API, so it needs a message queue: set "
            "TOUTIAO_MQ_URL=amqp://... or redis://... (memory:// works only inside toutiao serve)"
        )
    runtime = build_runtime(settings, name="im")
    await runtime.start()
    sio = create_sio(settings, runtime)
    try:
        start_fanout(sio)
        config = uvicorn.Config(
            create_im_asgi(sio, runtime=runtime),
            host=host,
            port=port,
            lifespan="off",
            log_level=settings.LOG_LEVEL.lower(),
            log_config=None,
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=5,
        )
        log.info("im.listening host=%s port=%s mq=%s", host, port, mq_kind(settings.MQ_URL))
        await GracefulServer(config).serve()
    finally:
        await close_sio(sio, runtime)
        await runtime.close()
        log.info("im.stopped host=%s port=%s", host, port)
