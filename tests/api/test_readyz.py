"""``/readyz`` follows the engines: the recommender and the assistant stopping or returning,
the search index not yet built."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tests.fixtures.factories import Factory
from toutiao.chat.client import ChatClient
from toutiao.chat.server import start_chat_server
from toutiao.kit.grpc_ops import stop_server
from toutiao.main import create_app
from toutiao.recommend import keys
from toutiao.rpc.client import RecoClient
from toutiao.rpc.server import start_rpc_server
from toutiao.runtime import Runtime


@pytest.fixture
def probe(settings, runtime: Runtime) -> Any:
    """``probe(runtime) -> (status, checks)`` on a fresh app (no cached answer)."""

    async def ask(variant: Runtime) -> tuple[int, dict[str, Any]]:
        app = create_app(settings, runtime=variant)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                response = await http.get("/readyz")
        return response.status_code, response.json()["checks"]

    return ask


async def test_ready_with_live_services_and_not_when_they_stop(probe, runtime: Runtime) -> None:
    reco_server, reco_port = await start_rpc_server(runtime)
    chat_server, chat_port = await start_chat_server(runtime)
    variant = dataclasses.replace(
        runtime,
        reco=RecoClient(f"127.0.0.1:{reco_port}"),
        chat=ChatClient(f"127.0.0.1:{chat_port}"),
    )
    try:
        status, checks = await probe(variant)
        assert status == 200, checks
        assert checks["recommender"]["serving"] and checks["chat"]["up"]
        await stop_server(reco_server, 0)
        status, checks = await probe(variant)
        assert status == 503 and checks["recommender"]["serving"] is False
        assert checks["chat"]["up"] is True
        await stop_server(chat_server, 0)
        status, checks = await probe(variant)
        assert status == 503 and checks["chat"]["up"] is False
    finally:
        await stop_server(reco_server, 0)
        await stop_server(chat_server, 0)
        await variant.reco.close()
        await variant.chat.close()


async def test_not_ready_until_indexes_are_built(probe, runtime: Runtime, factory: Factory) -> None:
    import time

    await runtime.search.purge(int(time.time() * 1000) + 1)  # an empty index, as on a first start
    author = await factory.user()
    [channel] = await factory.channels(["新闻"])
    await factory.article(author.user_id, channel.channel_id, title="索引还没有建好")
    status, checks = await probe(runtime)
    assert status == 503
    assert checks["search"]["index_built"] is False and checks["search"]["approved"] == 1
    assert checks["recommender"]["similar_index_built"] is False
    await runtime.store.hset(keys.INDEX_META, mapping={"docs": 1, "built_at": 1})
    from toutiao.search.indexer import reindex

    await reindex(runtime, workers=0)
    status, checks = await probe(runtime)
    assert status == 200, checks
