from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest

from tests.recommend.helpers import RecoData, topical_text
from tests.rpc import wire
from toutiao.protos import reco_pb2, reco_pb2_grpc
from toutiao.recommend.engine import Recommender
from toutiao.recommend.similar import rebuild_similarity
from toutiao.rpc.client import RecoClient
from toutiao.rpc.server import start_rpc_server
from toutiao.runtime import Runtime

T1, T2 = 1_700_000_000_000, 1_700_000_060_000


@pytest.fixture
async def server(recommender: Recommender) -> AsyncIterator[int]:
    running, port = await start_rpc_server(recommender, port=0)
    yield port
    await running.stop(None)


@pytest.fixture
async def client(server: int) -> AsyncIterator[RecoClient]:
    reco = RecoClient(f"127.0.0.1:{server}", timeout=5)
    yield reco
    await reco.close()


@pytest.fixture
async def channel(data: RecoData) -> int:
    (channel_id,) = await data.channels(1)
    author = await data.user()
    await data.articles(25, author=author, channel=channel_id)
    return channel_id


class TestUserRecommend:
    async def test_client_round_trip_and_paging(self, client: RecoClient, channel: int) -> None:
        first = await client.user_recommend("501", channel, 10, T1)
        second = await client.user_recommend("501", channel, 10, T2)
        assert first is not None and second is not None
        assert len(first.items) == 10 and (first.time_stamp, second.time_stamp) == (0, T1)
        replay = await client.user_recommend("501", channel, 10, T1)
        assert replay is not None and replay.exposure == "" and replay.time_stamp == 0
        assert [i.article_id for i in replay.items] == [i.article_id for i in first.items]
        assert json.loads(first.items[0].track["click"])["action"] == "click"

    async def test_original_package_less_path_with_hand_built_bytes(
        self, server: int, channel: int
    ) -> None:
        request = (
            wire.field_bytes(1, b"502")
            + wire.field_varint(2, channel)
            + wire.field_varint(3, 3)
            + wire.field_varint(4, T1)
        )
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server}") as chan:
            call = chan.unary_unary("/UserRecommend/user_recommend")
            raw = await call(request, timeout=5)
        fields = wire.decode(raw)
        exposure = [v for n, v in fields if n == 1]
        assert exposure and json.loads(exposure[0])["action"] == "exposure"
        assert [v for n, v in fields if n == 2] == []  # time_stamp 0 is not on the wire
        articles = [wire.decode(v) for n, v in fields if n == 3]
        assert len(articles) == 3
        for article in articles:
            (article_id,) = [v for n, v in article if n == 1]
            (track,) = [wire.decode(v) for n, v in article if n == 2]
            strings = {n: json.loads(v) for n, v in track}
            assert [strings[n]["action"] for n in (1, 2, 3, 4)] == [
                "click",
                "collect",
                "share",
                "read",
            ]
            assert strings[1]["articleId"] == str(article_id)

    async def test_generated_stub_on_the_packaged_path(self, server: int, channel: int) -> None:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server}") as chan:
            stub = reco_pb2_grpc.UserRecommendStub(chan)
            request = reco_pb2.UserRequest(user_id="", channel_id=channel, article_num=500)
            response = await stub.user_recommend(request, timeout=5)
            assert len(response.recommends) == 25  # clamped to 50, all there is
            one = await stub.user_recommend(
                reco_pb2.UserRequest(channel_id=channel, article_num=0, time_stamp=T1), timeout=5
            )
            assert len(one.recommends) == 1

    async def test_bad_arguments_are_invalid_argument(self, server: int) -> None:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server}") as chan:
            stub = reco_pb2_grpc.UserRecommendStub(chan)
            for request in (
                reco_pb2.UserRequest(user_id="1", time_stamp=-1),
                reco_pb2.UserRequest(user_id="1", channel_id=-3, time_stamp=T1),
                reco_pb2.UserRequest(user_id="x" * 500, time_stamp=T1),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await stub.user_recommend(request, timeout=5)
                assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.article_recommend(reco_pb2.SimilarRequest(article_id=0), timeout=5)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class TestArticleRecommend:
    async def _similar_corpus(self, data: RecoData, runtime: Runtime) -> list[int]:
        (channel_id,) = await data.channels(1)
        author = await data.user()
        found = []
        for topic in ("db", "ball"):
            for seed in range(4):
                title, body = topical_text(topic, seed)
                found.append(
                    await data.article(
                        author=author,
                        channel=channel_id,
                        title=title,
                        content=body,
                        age=timedelta(hours=seed + 1),
                    )
                )
        await rebuild_similarity(runtime.db, runtime.store, workers=0)
        return found

    async def test_similar_through_client_and_raw_bytes(
        self, runtime: Runtime, data: RecoData, client: RecoClient, server: int
    ) -> None:
        articles = await self._similar_corpus(data, runtime)
        db_articles = articles[:4]
        found = await client.similar(db_articles[0], 3)
        assert found is not None and len(found) == 3 and set(found) <= set(db_articles[1:])
        request = wire.field_varint(1, db_articles[0]) + wire.field_varint(2, 3)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server}") as chan:
            raw = await chan.unary_unary("/UserRecommend/article_recommend")(request, timeout=5)
        (packed,) = [v for n, v in wire.decode(raw) if n == 1]
        assert wire.packed_varints(packed) == found


async def test_work_survives_the_callers_cancellation():
    """A client deadline cancels the RPC; the database/Redis work underneath still finishes."""
    import asyncio

    from toutiao.rpc.server import RecommendServicer

    servicer = RecommendServicer(recommender=None)  # type: ignore[arg-type]
    finished = asyncio.Event()

    async def work() -> str:
        await asyncio.sleep(0.05)
        finished.set()
        return "done"

    call = asyncio.create_task(servicer._finish(work()))
    await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.wait_for(finished.wait(), 1)
    assert not servicer._unfinished
