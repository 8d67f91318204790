"""What every gRPC server and client of the platform shares.

- The standard health service (``grpc.health.v1.Health``): each server reports its services
  SERVING once started and NOT_SERVING from the moment it begins to stop.
- Request ids: clients send the current :data:`request_id_var` as ``x-request-id`` metadata;
  :class:`RequestIdInterceptor` sets it on the server for the call's duration and logs one
  ``rpc.call`` line per call (method, status, duration).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from toutiao.kit.logs import clean_request_id, new_request_id, request_id_var

log = logging.getLogger("toutiao.rpc.access")

REQUEST_ID_KEY = "x-request-id"
SERVING = health_pb2.HealthCheckResponse.SERVING


def request_metadata() -> tuple[tuple[str, str], ...] | None:
    """Metadata carrying the current request id, for an outgoing call."""
    request_id = request_id_var.get()
    return ((REQUEST_ID_KEY, request_id),) if request_id else None


async def add_health(server: grpc.aio.Server, services: Sequence[str]) -> Any:
    """Serve the health service on ``server`` with ``services`` (and "") SERVING."""
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for name in ("", *services):
        await servicer.set(name, SERVING)
    return servicer


async def start_server(
    register: Callable[[grpc.aio.Server], None],
    *,
    health_services: Sequence[str],
    host: str = "127.0.0.1",
    port: int = 0,
) -> tuple[grpc.aio.Server, int]:
    """Start a gRPC server of the platform: request ids on every call, the servicers that
    ``register`` adds, the health service reporting ``health_services`` SERVING. Port 0 picks
    a free port; the bound one is returned. No SO_REUSEPORT: a second server on a taken port
    fails instead of silently sharing it."""
    server = grpc.aio.server(
        options=[("grpc.so_reuseport", 0)], interceptors=[RequestIdInterceptor()]
    )
    register(server)
    server.health = await add_health(server, health_services)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    bound = server.add_insecure_port(address)
    if not bound:
        raise RuntimeError(f"cannot listen on {address}")
    await server.start()
    return server, bound


async def stop_server(server: grpc.aio.Server, grace: float) -> None:
    """Report NOT_SERVING (when :func:`add_health` was used), then stop within ``grace``."""
    servicer = getattr(server, "health", None)
    if servicer is not None:
        await servicer.enter_graceful_shutdown()
    await server.stop(grace)


async def check_health(target: str, service: str = "", *, deadline: float = 1.0) -> bool:
    """True when the server at ``target`` reports ``service`` SERVING within ``deadline``."""
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=deadline
            )
        except grpc.aio.AioRpcError:
            return False
    return bool(response.status == SERVING)


Behaviour = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


def _with_request_id(method: str, behaviour: Behaviour) -> Behaviour:
    async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
        sent = dict(context.invocation_metadata() or ()).get(REQUEST_ID_KEY)
        token = request_id_var.set(clean_request_id(sent) or new_request_id())
        started = time.perf_counter()
        try:
            return await behaviour(request, context)
        finally:
            code = context.code() if hasattr(context, "code") else None
            log.info(
                "rpc.call",
                extra={
                    "method": method,
                    "code": getattr(code, "name", None) or "OK",
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)

    return handle


class RequestIdInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Unary-unary calls run with the caller's request id (or a new one) and are logged."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]
        if handler_call_details.method.startswith("/grpc.health."):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _with_request_id(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
