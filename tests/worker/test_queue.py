"""The producer side: routes, and the outbox that keeps a message while the broker is down."""

from __future__ import annotations

import pytest

from tests.worker.helpers import decode_messages
from toutiao.config import Settings
from toutiao.engines.tasks import LOCAL, TaskConfigError, broker_url, create_task_queue, queue_of
from toutiao.engines.tasks.celery_queue import OUTBOX_KEY, CeleryQueue
from toutiao.runtime import Runtime

PREFIX = "test-queue"


def _settings(runtime: Runtime, **changes: object) -> Settings:
    return runtime.settings.model_copy(
        update={"TASK_BROKER_URL": "", "TASK_QUEUE_PREFIX": PREFIX, **changes}
    )


def test_routes() -> None:
    assert queue_of("sms.send_code", "p") == "p.sms"
    assert queue_of("search.index", "p") == "p.search"
    assert queue_of("stats.fix", "p") == "p.default"
    assert queue_of("recommend.similar_refresh", "p") == "p.default"


async def test_each_task_reaches_its_queue(runtime: Runtime) -> None:
    settings = _settings(runtime)
    queue = CeleryQueue(settings, broker_url(settings, runtime.redis.storage), runtime.store)
    try:
        await queue.send("sms.send_code", "13900000001", "123456")
        await queue.send("stats.fix")
    finally:
        await queue.close()
    sms = decode_messages(await runtime.store.lrange(f"{PREFIX}.sms", 0, -1))
    default = decode_messages(await runtime.store.lrange(f"{PREFIX}.default", 0, -1))
    assert (sms, default) == ([("sms.send_code", ["13900000001", "123456"])], [("stats.fix", [])])


async def test_a_broker_outage_loses_nothing(runtime: Runtime) -> None:
    down = _settings(runtime, TASK_PUBLISH_TIMEOUT=0.5)
    dead = CeleryQueue(down, "redis://127.0.0.1:1/0", runtime.store)  # nothing listens there
    try:
        await dead.send("search.index", [7, 8])  # returns: the message waits in the outbox
        await dead.send("search.remove", [9])
        assert await runtime.store.llen(OUTBOX_KEY) == 2
        assert await dead.flush_outbox() == 0  # still down: kept
        assert await runtime.store.llen(OUTBOX_KEY) == 2
    finally:
        await dead.close()
    settings = _settings(runtime)
    alive = CeleryQueue(settings, broker_url(settings, runtime.redis.storage), runtime.store)
    try:
        assert await alive.flush_outbox() == 2
    finally:
        await alive.close()
    assert await runtime.store.llen(OUTBOX_KEY) == 0
    queued = decode_messages(await runtime.store.lrange(f"{PREFIX}.search", 0, -1))
    assert sorted(queued) == [("search.index", [[7, 8]]), ("search.remove", [[9]])]


def test_local_tasks_are_refused_in_production(runtime: Runtime) -> None:
    settings = _settings(runtime, TASK_BROKER_URL=LOCAL, ENV="production")
    with pytest.raises(TaskConfigError):
        create_task_queue(settings, runtime.redis.storage, {}, runtime)
