from __future__ import annotations

import asyncio
import logging
import socket
import time

import grpc
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tests.recommend.helpers import RecoData
from toutiao.recommend.engine import Recommender
from toutiao.recommend.schemas import RecoBatch
from toutiao.recommend.tasks import RECOMMEND_JOBS
from toutiao.rpc.client import RecoClient
from toutiao.rpc.main import serve_recommender
from toutiao.rpc.server import start_rpc_server
from toutiao.runtime import Runtime


class SlowRecommender(Recommender):
    async def user_recommend(self, *args: object) -> RecoBatch:  # type: ignore[override]
        await asyncio.sleep(3)
        return RecoBatch("", 0, [])

    async def similar(self, article_id: int, n: int) -> list[int]:
        await asyncio.sleep(3)
        return []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestDegradation:
    async def test_none_quickly_when_nothing_listens(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        client = RecoClient(f"127.0.0.1:{_free_port()}", timeout=0.3)
        try:
            with caplog.at_level(logging.WARNING, logger="toutiao.rpc.client"):
                started = time.monotonic()
                assert await client.user_recommend("1", 0, 10, 1) is None
                assert await client.similar(1, 5) is None
                assert time.monotonic() - started < 1.5
            assert "reco.call_failed" in caplog.text
        finally:
            await client.close()

    async def test_none_within_the_deadline_when_the_server_is_slow(self, runtime: Runtime) -> None:
        server, port = await start_rpc_server(SlowRecommender(runtime.db, runtime.store))
        client = RecoClient(f"127.0.0.1:{port}", timeout=0.2)
        try:
            started = time.monotonic()
            assert await client.user_recommend("1", 0, 10, 1) is None
            assert await client.similar(1, 5) is None
            assert time.monotonic() - started < 1.5
        finally:
            await client.close()
            await server.stop(None)

    async def test_none_after_the_server_stops_then_back_when_it_returns(
        self, runtime: Runtime, data: RecoData, recommender: Recommender
    ) -> None:
        (channel,) = await data.channels(1)
        await data.articles(3, author=await data.user(), channel=channel)
        server, port = await start_rpc_server(recommender)
        client = RecoClient(f"127.0.0.1:{port}", timeout=0.3)
        try:
            assert await client.user_recommend("", channel, 3, 1) is not None
            await server.stop(None)
            started = time.monotonic()
            assert await client.user_recommend("", channel, 3, 1) is None
            assert time.monotonic() - started < 1.5
            server, _ = await start_rpc_server(recommender, port=port)
            for _ in range(40):
                if await client.user_recommend("", channel, 3, 1) is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the client did not reconnect")
        finally:
            await client.close()
            await server.stop(None)

    async def test_bad_input_is_none_not_an_exception(self) -> None:
        client = RecoClient("127.0.0.1:1", timeout=0.2)
        assert await client.user_recommend("1", 2**40, 10, 1) is None  # not an int32
        await client.close()


class TestServeRecommender:
    async def test_serves_and_schedules_then_stops(self, runtime: Runtime, data: RecoData) -> None:
        (channel,) = await data.channels(1)
        await data.articles(3, author=await data.user(), channel=channel)
        async with serve_recommender(runtime, port=0) as port:
            client = RecoClient(f"127.0.0.1:{port}", timeout=5)
            batch = await client.user_recommend("", channel, 3, 1)
            assert batch is not None and len(batch.items) == 3
            await client.close()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
            with pytest.raises(grpc.aio.AioRpcError):
                await chan.unary_unary("/UserRecommend/user_recommend")(b"", timeout=0.5)

    async def test_jobs_ride_on_a_callers_scheduler_and_leave_with_us(
        self, runtime: Runtime
    ) -> None:
        scheduler = AsyncIOScheduler()
        scheduler.add_job(lambda: None, "interval", hours=1, id="theirs")
        async with serve_recommender(runtime, port=0, scheduler=scheduler):
            ids = {job.id for job in scheduler.get_jobs()}
            renewal = "scheduler.leader:reco:lock:scheduler"
            assert {"theirs", renewal, *(j.name for j in RECOMMEND_JOBS)} == ids
        assert {job.id for job in scheduler.get_jobs()} == {"theirs", renewal}
