"""The recommendation gRPC service: proto <-> :class:`toutiao.recommend.engine.Recommender`.

Served under ``reco.UserRecommend`` (our proto) and under ``UserRecommend``, the name the
original package-less protos use, so the original clients keep working unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc

from toutiao.kit.grpc_ops import start_server
from toutiao.protos import reco_pb2, reco_pb2_grpc
from toutiao.recommend.engine import Recommender

log = logging.getLogger("toutiao.rpc")
T = TypeVar("T")

MAX_ARTICLES = 50
MAX_USER_ID_CHARS = 128
LEGACY_SERVICE = "UserRecommend"
SERVICE = "reco.UserRecommend"
HEALTH_SERVICES = (SERVICE, LEGACY_SERVICE)


def _clamp(value: int) -> int:
    return min(max(value, 1), MAX_ARTICLES)


class RecommendServicer(reco_pb2_grpc.UserRecommendServicer):
    def __init__(self, recommender: Recommender) -> None:
        self.recommender = recommender
        self._unfinished: set[asyncio.Task[Any]] = set()

    async def _finish(self, work: Awaitable[T]) -> T:
        """Run ``work`` to completion even if the caller's deadline cancels this RPC.

        Cancelling mid-way would interrupt a database session or a Redis pipeline (seen under
        load: a leaked pooled connection); the batch is small, so let it finish and drop it.
        """
        task = asyncio.ensure_future(work)
        self._unfinished.add(task)
        task.add_done_callback(self._unfinished.discard)
        return await asyncio.shield(task)

    async def user_recommend(
        self, request: reco_pb2.UserRequest, context: grpc.aio.ServicerContext
    ) -> reco_pb2.ArticleResponse:
        if request.time_stamp < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "time_stamp must be >= 0")
        if request.channel_id < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "channel_id must be >= 0")
        if len(request.user_id) > MAX_USER_ID_CHARS:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "user_id is too long")
        # proto3 cannot tell 0 from "not sent": a missing timestamp means "now".
        time_stamp = request.time_stamp or int(time.time() * 1000)
        try:
            batch = await self._finish(
                self.recommender.user_recommend(
                    request.user_id,
                    request.channel_id,
                    _clamp(request.article_num),
                    time_stamp,
                    caller_records=request.caller_records,
                )
            )
        except Exception:
            log.exception("rpc.user_recommend_failed channel=%s", request.channel_id)
            await context.abort(grpc.StatusCode.INTERNAL, "recommendation failed")
        return reco_pb2.ArticleResponse(
            exposure=batch.exposure,
            time_stamp=batch.time_stamp,
            recommends=[
                reco_pb2.Article(article_id=item.article_id, track=reco_pb2.Track(**item.track))
                for item in batch.items
            ],
        )

    async def article_recommend(
        self, request: reco_pb2.SimilarRequest, context: grpc.aio.ServicerContext
    ) -> reco_pb2.SimilarResponse:
        if request.article_id <= 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "article_id must be > 0")
        try:
            found = await self._finish(
                self.recommender.similar(request.article_id, _clamp(request.article_num))
            )
        except Exception:
            log.exception("rpc.article_recommend_failed article=%s", request.article_id)
            await context.abort(grpc.StatusCode.INTERNAL, "similar articles failed")
        return reco_pb2.SimilarResponse(article_id=found)


def _legacy_handlers(servicer: RecommendServicer) -> grpc.GenericRpcHandler:
    handlers = {
        "user_recommend": grpc.unary_unary_rpc_method_handler(
            servicer.user_recommend,
            request_deserializer=reco_pb2.UserRequest.FromString,
            response_serializer=reco_pb2.ArticleResponse.SerializeToString,
        ),
        "article_recommend": grpc.unary_unary_rpc_method_handler(
            servicer.article_recommend,
            request_deserializer=reco_pb2.SimilarRequest.FromString,
            response_serializer=reco_pb2.SimilarResponse.SerializeToString,
        ),
    }
    return grpc.method_handlers_generic_handler(LEGACY_SERVICE, handlers)


def _recommender(target: Any) -> Recommender:
    if isinstance(target, Recommender):
        return target
    return Recommender(target.db, target.store)  # a Runtime


async def start_rpc_server(
    target: Any, *, host: str = "127.0.0.1", port: int = 0
) -> tuple[grpc.aio.Server, int]:
    """Start serving ``target`` (a Runtime or a Recommender); port 0 picks a free port."""
    servicer = RecommendServicer(_recommender(target))

    def register(server: grpc.aio.Server) -> None:
        reco_pb2_grpc.add_UserRecommendServicer_to_server(servicer, server)
        server.add_generic_rpc_handlers((_legacy_handlers(servicer),))

    server, bound = await start_server(
        register, health_services=HEALTH_SERVICES, host=host, port=port
    )
    log.info("rpc.started address=%s port=%d", host, bound)
    return server, bound
