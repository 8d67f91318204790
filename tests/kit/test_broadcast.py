"""kit/broadcast.py on the test Redis: drops reach every subscriber, idle or not."""

from __future__ import annotations

import asyncio

from toutiao.kit import broadcast
from toutiao.kit.broadcast import Broadcast


async def until(predicate, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline
        await asyncio.sleep(0.02)


async def test_messages_from_another_client_drop_entries_after_idling(runtime):
    dropped: list[str] = []
    resets: list[int] = []
    broadcast.register("test-topic", drop=dropped.append, reset=lambda: resets.append(1))
    listener = Broadcast(runtime.cache, channel="toutiao:test-l1")
    listener.start()
    try:
        await asyncio.wait_for(listener.subscribed.wait(), 5)
        assert resets  # subscribing empties every registered L1
        await asyncio.sleep(2.5)  # longer than the client's socket timeout
        await runtime.cache.publish("toutiao:test-l1", "test-topic:7,8")
        await until(lambda: dropped == ["7,8"])
        await runtime.cache.publish("toutiao:test-l1", "unknown-topic:1")
        await runtime.cache.publish("toutiao:test-l1", "test-topic:9")
        await until(lambda: dropped == ["7,8", "9"])
    finally:
        await listener.close()
        broadcast._topics.pop("test-topic", None)


async def test_publish_drops_here_at_once(runtime):
    dropped: list[str] = []
    broadcast.register("test-local", drop=dropped.append, reset=lambda: None)
    try:
        await runtime.broadcast.publish("test-local", "5")
        assert dropped[0] == "5"
    finally:
        broadcast._topics.pop("test-local", None)
