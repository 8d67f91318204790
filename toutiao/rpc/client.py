"""Client of the recommendation service, for the API.

Every call has a deadline and never raises: on any failure it logs a warning (at most one
per reason every ``WARN_EVERY`` seconds, so an outage does not flood the log) and returns
None, and the caller falls back to its local recall. One long-lived channel per client,
created on first use inside the running event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import grpc

from toutiao.kit import metrics
from toutiao.kit.grpc_ops import request_metadata
from toutiao.protos import reco_pb2, reco_pb2_grpc
from toutiao.recommend.schemas import TRACK_ACTIONS, RecoBatch, RecoItem

log = logging.getLogger("toutiao.rpc.client")

WARN_EVERY = 30.0
# A margin over the gRPC deadline before the asyncio guard gives up on a stuck call.
GUARD = 0.25
CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5_000),
]


class RecoClient:
    def __init__(self, target: str, *, timeout: float = 0.5, similar_timeout: float | None = None):
        self.target = target
        self.timeout = timeout
        self.similar_timeout = similar_timeout if similar_timeout is not None else timeout
        self._channel: grpc.aio.Channel | None = None
        self._stub: reco_pb2_grpc.UserRecommendStub | None = None
        self._warned: dict[str, float] = {}

    def _get_stub(self) -> reco_pb2_grpc.UserRecommendStub:
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)
            self._stub = reco_pb2_grpc.UserRecommendStub(self._channel)
        return self._stub

    async def user_recommend(
        self,
        user_id: str,
        channel_id: int,
        article_num: int,
        time_stamp: int,
        *,
        caller_records: bool = False,
    ) -> RecoBatch | None:
        response = await self._call(
            "user_recommend",
            lambda: reco_pb2.UserRequest(
                user_id=str(user_id),
                channel_id=channel_id,
                article_num=article_num,
                time_stamp=time_stamp,
                caller_records=caller_records,
            ),
            self.timeout,
        )
        if response is None:
            return None
        items = [
            RecoItem(item.article_id, {k: getattr(item.track, k) for k in TRACK_ACTIONS})
            for item in response.recommends
        ]
        return RecoBatch(response.exposure, response.time_stamp, items)

    async def similar(self, article_id: int, n: int) -> list[int] | None:
        response = await self._call(
            "article_recommend",
            lambda: reco_pb2.SimilarRequest(article_id=article_id, article_num=n),
            self.similar_timeout,
        )
        return None if response is None else list(response.article_id)

    async def _call(self, method: str, build: Any, deadline: float) -> Any:
        try:
            request = build()
            call = getattr(self._get_stub(), method)
            async with asyncio.timeout(deadline + GUARD):
                response = await call(request, timeout=deadline, metadata=request_metadata())
        except grpc.aio.AioRpcError as exc:
            self._warn(method, exc.code().name, exc.details() or "")
        except TimeoutError:
            self._warn(method, "GUARD_TIMEOUT", f"no answer in {deadline + GUARD:.2f}s")
        except Exception as exc:  # noqa: BLE001 - the contract is "never raise"
            self._warn(method, type(exc).__name__, str(exc))
        else:
            metrics.reco_call(method)
            return response
        return None

    def _warn(self, method: str, reason: str, detail: str) -> None:
        metrics.reco_call(method, reason)
        now = time.monotonic()
        key = f"{method}:{reason}"
        if now - self._warned.get(key, -WARN_EVERY) >= WARN_EVERY:
            self._warned[key] = now
            log.warning(
                "reco.call_failed method=%s reason=%s detail=%s target=%s",
                method,
                reason,
                detail[:200],
                self.target,
            )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stub = None
