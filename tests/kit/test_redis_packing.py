"""Commands are packed by hiredis: the same bytes as redis-py's own packer, the same errors;
replies already in the parser's buffer are read without a timer, with the same results."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import connection as redis_connection
from redis.asyncio.connection import Connection
from redis.asyncio.sentinel import SentinelManagedConnection
from redis.exceptions import DataError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from toutiao.kit import redis as kit_redis
from toutiao.runtime import Runtime

CASES = [
    ("SET", "k", "v"),
    ("GET", "中文键"),
    ("SET", b"k", b"\x00\xff\r\n"),
    ("SET", "k", memoryview(b"view")),
    ("SET", "k", bytearray(b"array")),
    ("ZADD", "z", 1.5, "a", -0.0, "b", 1e-7, "c", 1e20, "d", 0.1 + 0.2, "e", float("inf"), "f"),
    ("ZMSCORE", "z", *range(300)),
    ("INCRBY", "n", 12345678901234567890),
    ("CONFIG GET", "maxmemory"),  # a two-word command name goes as two words
    (b"CLIENT SETNAME", "x"),
    ("EVALSHA", "sha", 2, "k1", "k2", "arg"),
]


@pytest.mark.parametrize("args", CASES, ids=lambda args: str(args[0]))
def test_the_same_bytes_as_redis_py(args: tuple) -> None:
    ours = b"".join(kit_redis._PackedConnection().pack_command(*args))
    theirs = b"".join(bytes(part) for part in Connection().pack_command(*args))
    assert ours == theirs


@pytest.mark.parametrize("value", [None, True, [1], {"a": 1}])
def test_values_redis_cannot_take_are_a_data_error(value: object) -> None:
    with pytest.raises(DataError):
        Connection().pack_command("SET", "k", value)
    with pytest.raises(DataError):
        kit_redis._PackedConnection().pack_command("SET", "k", value)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:6379/3", kit_redis._PackedConnection),
        ("unix:///tmp/toutiao-no-such.sock", kit_redis._PackedUnixConnection),
        ("rediss://127.0.0.1:6380/0", kit_redis._PackedSSLConnection),
    ],
)
async def test_clients_pack_with_hiredis_and_keep_the_url_options(url: str, kind: type) -> None:
    client = kit_redis.create_redis(f"{url}?socket_timeout=3", socket_timeout=2.0).client
    try:
        assert client.connection_pool.connection_class is kind
        assert client.connection_pool.connection_kwargs["socket_timeout"] == 3.0
        assert client.auto_close_connection_pool  # closing the client closes its pool
    finally:
        await client.aclose()


def test_sentinel_clients_pack_with_hiredis() -> None:
    client = kit_redis.SentinelTarget.parse("redis+sentinel://127.0.0.1:1/mymaster/0").master()
    assert client.connection_pool.connection_class is kit_redis._PackedSentinelConnection


class _Timers:
    """Counts the asyncio timeouts redis-py opens around reads, and its sends through
    ``asyncio.wait_for`` (a task each on Python 3.11)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened = self.waited = 0
        real, real_wait_for = redis_connection.async_timeout, asyncio.wait_for

        def counted(delay: float | None) -> Any:
            self.opened += 1
            return real(delay)

        def counted_wait_for(awaitable: Any, timeout: float | None) -> Any:
            self.waited += 1
            return real_wait_for(awaitable, timeout)

        monkeypatch.setattr(redis_connection, "async_timeout", counted)
        monkeypatch.setattr(asyncio, "wait_for", counted_wait_for)


async def test_a_pipeline_reads_replies_already_buffered_without_a_timer(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = runtime.store
    await store.set("packing:text", "not a number")
    timers = _Timers(monkeypatch)
    async with store.pipeline(transaction=False) as pipe:
        for i in range(20):
            pipe.set(f"packing:{i}", i)
        pipe.incr("packing:text")  # an error reply among the others
        pipe.mget([f"packing:{i}" for i in range(20)])
        pipe.zadd("packing:z", {"a": 1.5})
        pipe.zscore("packing:z", "a")
        replies = await pipe.execute(raise_on_error=False)
    # One timer for the first reply, still to come; the rest were in the parser's buffer.
    # The send is written at once, not through a task of its own.
    assert (timers.opened, timers.waited) == (1, 0)
    assert replies[:20] == [True] * 20
    assert isinstance(replies[20], ResponseError)
    assert [int(v) for v in replies[21]] == list(range(20))
    assert replies[22:] == [1, 1.5]
    await store.delete("packing:text", "packing:z", *(f"packing:{i}" for i in range(20)))


async def test_a_transaction_and_its_errors_read_as_before(runtime: Runtime) -> None:
    store = runtime.store
    await store.set("packing:tx", "text")
    async with store.pipeline(transaction=True) as pipe:
        pipe.set("packing:tx2", 5)
        pipe.incr("packing:tx2")
        pipe.incr("packing:tx")
        with pytest.raises(ResponseError):
            await pipe.execute()
    assert await store.get("packing:tx2") == "6"  # EXEC ran the others
    async with store.pipeline(transaction=True) as pipe:
        pipe.incr("packing:tx2")
        pipe.get("packing:tx2")
        assert await pipe.execute() == [7, "7"]
    with pytest.raises(ResponseError):  # a single command's error reply still raises
        await store.incr("packing:tx")
    assert await store.ping()  # and the connection is still in step
    await store.delete("packing:tx", "packing:tx2")


async def test_a_reply_still_to_come_keeps_the_socket_timeout(runtime: Runtime) -> None:
    handle = kit_redis.create_redis(runtime.redis.storage.url, socket_timeout=0.2)
    try:
        with pytest.raises(RedisTimeoutError):
            await handle.client.blpop(["packing:never"], timeout=2)
    finally:
        await handle.client.aclose()


def test_sentinel_handling_wraps_the_buffered_read() -> None:
    """Sentinel turns a read-only reply from a demoted master into a reconnect: its
    ``read_response`` must come before ours."""
    order = kit_redis._PackedSentinelConnection.__mro__
    assert order.index(SentinelManagedConnection) < order.index(kit_redis._HiredisWire)


async def test_the_lean_pool_lends_idle_connections_again(runtime: Runtime) -> None:
    """One request after another use one connection; concurrent commands one each (and
    concurrent pipelines two: the first, and the rest of its turn together), all given back;
    a connection the server closed is replaced on the next use."""
    client = kit_redis.create_redis(runtime.redis.storage.url).client
    pool = client.connection_pool
    assert isinstance(pool, kit_redis._LeanPool)
    try:
        for _ in range(20):
            async with client.pipeline(transaction=False) as pipe:
                pipe.ping()
                await pipe.execute()
        assert len(pool._available_connections) == 1 and not pool._in_use_connections

        async def ping_twice() -> None:
            async with client.pipeline(transaction=False) as pipe:
                pipe.ping().ping()
                assert await pipe.execute() == [True, True]

        await asyncio.gather(*(ping_twice() for _ in range(8)))
        # the first went at once, the others of the same turn of the event loop together
        assert len(pool._available_connections) == 2 and not pool._in_use_connections
        await asyncio.gather(*(client.ping() for _ in range(8)))  # commands: one each
        assert 1 < len(pool._available_connections) <= 8 and not pool._in_use_connections

        lent = await pool.get_connection()
        await lent.send_command("CLIENT", "ID")
        own_id = await lent.read_response()
        await pool.release(lent)
        other = kit_redis.create_redis(runtime.redis.storage.url).client
        try:
            assert await other.execute_command("CLIENT", "KILL", "ID", own_id) == 1
        finally:
            await other.aclose()
        for _ in range(10):  # whichever connection each lands on
            assert await client.ping() is True
    finally:
        await client.aclose()


async def test_a_cancelled_command_leaves_no_reply_for_the_next_caller(runtime: Runtime) -> None:
    """A caller cancelled while its reply is still to come (a request that timed out) gives
    back a connection that is closed, not one whose late reply the next caller would read."""
    client = kit_redis.create_redis(runtime.redis.storage.url).client
    try:
        await client.set("lean-pool-key", "mine")
        waiting = asyncio.ensure_future(client.blpop(["lean-pool-list"], timeout=1))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await client.rpush("lean-pool-list", "late")  # would answer the cancelled BLPOP
        for _ in range(5):
            assert await client.get("lean-pool-key") == "mine"
    finally:
        await client.delete("lean-pool-key", "lean-pool-list")
        await client.aclose()


async def test_pipelines_are_not_scanned_for_himport(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project sends no HIMPORT SET: its connections carry no registry, so a pipeline's
    commands are not parsed one by one looking for one."""
    from redis.asyncio import _himport_exec

    def scanned(_args: Any) -> None:
        raise AssertionError("a pipeline command was parsed for HIMPORT")

    monkeypatch.setattr(_himport_exec, "parse_himport_set_args", scanned)
    client = kit_redis.create_redis(runtime.redis.storage.url).client
    try:
        async with client.pipeline(transaction=False) as pipe:
            pipe.ping().echo("x")
            assert await pipe.execute() == [True, "x"]
    finally:
        await client.aclose()


def _queue_mixed(pipe: Any) -> None:
    pipe.set("lean-pipe:s", "值")
    pipe.get("lean-pipe:s")
    pipe.get("lean-pipe:none")
    pipe.incr("lean-pipe:s")  # an error reply, in its place
    pipe.mget([])  # an error reply the client turns into its empty response
    pipe.dump("lean-pipe:s")  # never decoded: bytes
    pipe.zadd("lean-pipe:z", {"a": 1.5, "b": 2})
    pipe.zrevrange("lean-pipe:z", 0, -1, withscores=True)  # a callback with options
    pipe.execute_command("ZRANGE", "lean-pipe:z", 0, -1, "WITHSCORES")
    pipe.zmscore("lean-pipe:z", ["a", "x"])
    pipe.hset("lean-pipe:h", mapping={"f": "1"})
    pipe.hgetall("lean-pipe:h")
    pipe.expire("lean-pipe:h", 60)
    pipe.eval("return {1, 'two', redis.call('GET', KEYS[1])}", 1, "lean-pipe:s")
    pipe.delete("lean-pipe:s", "lean-pipe:z", "lean-pipe:h")


async def test_a_plain_pipeline_gives_what_redis_py_gives(runtime: Runtime) -> None:
    """The lean pipeline's replies are redis-py's, callbacks, options and errors included,
    and an error still raises (annotated as redis-py does) once every reply is read."""
    from redis.asyncio.client import Pipeline

    client = kit_redis.create_redis(runtime.redis.storage.url).client
    try:
        lean = client.pipeline(transaction=False)
        assert isinstance(lean, kit_redis._LeanPipeline)
        plain = Pipeline(client.connection_pool, client.response_callbacks, False, None)
        answers = []
        for pipe in (lean, plain):
            async with pipe:
                _queue_mixed(pipe)
                answers.append(await pipe.execute(raise_on_error=False))
        ours, theirs = answers
        assert isinstance(ours[3], ResponseError) and isinstance(theirs[3], ResponseError)
        assert str(ours[3]) == str(theirs[3])
        ours[3] = theirs[3] = "error"
        assert ours == theirs
        assert ours[1] == "值" and ours[4] == [] and isinstance(ours[5], bytes)
        assert ours[7] == [["a", 1.5], ["b", 2.0]] or ours[7] == [("b", 2.0), ("a", 1.5)]

        async with client.pipeline(transaction=False) as pipe:
            _queue_mixed(pipe)
            with pytest.raises(ResponseError, match=r"Command # 4 \(INCRBY lean-pipe:s 1\)"):
                await pipe.execute()
        assert await client.ping()  # every reply was read: the connection is in step
        assert await client.exists("lean-pipe:s") == 0  # the commands after the error ran
    finally:
        await client.aclose()


async def test_a_plain_pipeline_skips_redis_pys_per_reply_path(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replies are taken from the reader, not through redis-py's per-reply coroutines; a
    transaction still goes through them."""
    from redis.asyncio.client import Pipeline

    calls: list[str] = []
    real = Pipeline.parse_response

    async def counted(self: Any, connection: Any, command_name: Any, **options: Any) -> Any:
        calls.append(str(command_name))
        return await real(self, connection, command_name, **options)

    monkeypatch.setattr(Pipeline, "parse_response", counted)
    client = kit_redis.create_redis(runtime.redis.storage.url).client
    try:
        async with client.pipeline(transaction=False) as pipe:
            pipe.ping().echo("x").get("lean-pipe:none")
            assert await pipe.execute() == [True, "x", None]
        assert calls == []
        async with client.pipeline(transaction=True) as pipe:
            pipe.echo("y")
            assert await pipe.execute() == ["y"]
        assert calls
    finally:
        await client.aclose()


async def test_a_cancelled_pipeline_leaves_no_reply_for_the_next_one(runtime: Runtime) -> None:
    """Cancelled while its replies are still to come, a pipeline's connection is closed, not
    lent again with them pending; the next pipelines read their own replies."""
    client = kit_redis.create_redis(runtime.redis.storage.url).client
    try:
        await client.set("lean-pipe:mine", "mine")

        async def blocked() -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                pipe.get("lean-pipe:mine").blpop(["lean-pipe:list"], timeout=1)
                return await pipe.execute()

        waiting = asyncio.ensure_future(blocked())
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await client.rpush("lean-pipe:list", "late")  # would answer the cancelled BLPOP
        for _ in range(5):
            async with client.pipeline(transaction=False) as pipe:
                pipe.get("lean-pipe:mine").echo("after")
                assert await pipe.execute() == ["mine", "after"]
        assert not client.connection_pool._in_use_connections
    finally:
        await client.delete("lean-pipe:mine", "lean-pipe:list")
        await client.aclose()


async def test_a_plain_pipeline_on_a_killed_connection_is_sent_again(runtime: Runtime) -> None:
    """As redis-py does: a connection lost before the replies is reopened and the pipeline
    sent once more."""
    client = kit_redis.create_redis(runtime.redis.storage.url).client
    other = kit_redis.create_redis(runtime.redis.storage.url).client
    try:
        async with client.pipeline(transaction=False) as pipe:
            pipe.client_id()
            (own_id,) = await pipe.execute()
        assert await other.execute_command("CLIENT", "KILL", "ID", own_id) == 1
        async with client.pipeline(transaction=False) as pipe:
            pipe.incr("lean-pipe:n").client_id()
            count, new_id = await pipe.execute()
        assert count == 1 and new_id != own_id
    finally:
        await client.delete("lean-pipe:n")
        await client.aclose()
        await other.aclose()


async def _echo(client: Any, *texts: str) -> list[Any]:
    """One pipeline of ``ECHO``s."""
    async with client.pipeline(transaction=False) as pipe:
        for text in texts:
            pipe.echo(text)
        return await pipe.execute()


class _Sends:
    """Counts the writes of the project's connections (each still goes to the server)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = kit_redis._HiredisWire.send_packed_command

        async def counted(connection: Any, command: Any, check_health: bool = True) -> None:
            self.count += 1
            await real(connection, command, check_health)

        monkeypatch.setattr(kit_redis._HiredisWire, "send_packed_command", counted)


async def test_pipelines_of_one_turn_share_a_write_each_getting_its_replies(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load, pipelines executed in the same turn of the event loop go out together:
    each caller still gets exactly its own replies, its own error raised or returned."""
    client = kit_redis.create_redis(runtime.redis.storage.url).client
    sends = _Sends(monkeypatch)

    async def own(i: int) -> list[Any]:
        async with client.pipeline(transaction=False) as pipe:
            pipe.set(f"lean-win:{i}", i).incrby(f"lean-win:{i}", i).get(f"lean-win:{i}")
            if i % 5 == 0:
                pipe.hset(f"lean-win:{i}", "f", "v")  # an error reply: a string, not a hash
            return await pipe.execute(raise_on_error=i % 10 != 0)

    try:
        for attempt in range(4):
            sends.count = 0
            outcomes = await asyncio.gather(*(own(i) for i in range(40)), return_exceptions=True)
            if attempt:  # (the first opened the connections: their handshakes are writes too)
                assert sends.count <= 3  # 40 pipelines: the first at once, the rest together
            for i, outcome in enumerate(outcomes):
                if i % 10 == 0:  # returned with its error in place
                    assert outcome[:3] == [True, 2 * i, str(2 * i)]
                    assert isinstance(outcome[3], ResponseError)
                elif i % 5 == 0:  # raised, after every reply was read
                    assert isinstance(outcome, ResponseError)
                else:
                    assert outcome == [True, 2 * i, str(2 * i)]
        assert await client.ping()
        assert not client.connection_pool._in_use_connections
    finally:
        await client.delete(*(f"lean-win:{i}" for i in range(40)))
        await client.aclose()


async def test_a_caller_cancelled_in_a_shared_write_leaves_the_others_theirs(
    runtime: Runtime,
) -> None:
    client = kit_redis.create_redis(runtime.redis.storage.url).client

    try:
        for _ in range(5):
            tasks = [asyncio.ensure_future(_echo(client, str(i), f"{i}!")) for i in range(12)]
            await asyncio.sleep(0)
            tasks[3].cancel()
            tasks[7].cancel()
            done = await asyncio.gather(*tasks, return_exceptions=True)
            for i, outcome in enumerate(done):
                if i in (3, 7):
                    assert isinstance(outcome, asyncio.CancelledError)
                else:
                    assert outcome == [str(i), f"{i}!"]
        assert await _echo(client, "after", "after!") == ["after", "after!"]
    finally:
        await client.aclose()


async def test_a_shared_write_on_a_killed_connection_is_sent_again(runtime: Runtime) -> None:
    client = kit_redis.create_redis(runtime.redis.storage.url).client
    other = kit_redis.create_redis(runtime.redis.storage.url).client

    try:
        await asyncio.gather(*(_echo(client, "warm") for _ in range(4)))
        for connection in client.connection_pool._available_connections:
            await connection.send_command("CLIENT", "ID")
            own_id = await connection.read_response()
            assert await other.execute_command("CLIENT", "KILL", "ID", own_id) == 1
        assert await asyncio.gather(*(_echo(client, str(i)) for i in range(10))) == [
            [str(i)] for i in range(10)
        ]
    finally:
        await client.aclose()
        await other.aclose()


async def test_a_pipeline_that_blocks_goes_alone(runtime: Runtime) -> None:
    """A pipeline with a blocking command never holds others behind its reply."""
    client = kit_redis.create_redis(runtime.redis.storage.url).client

    async def blocked() -> list[Any]:
        async with client.pipeline(transaction=False) as pipe:
            pipe.blpop(["lean-win:never"], timeout=1)
            return await pipe.execute()

    try:
        waiting = asyncio.ensure_future(blocked())
        answers = await asyncio.gather(*(_echo(client, str(i)) for i in range(5)))
        assert answers == [[str(i)] for i in range(5)]
        assert not waiting.done()  # the others came back while it still waits
        assert await waiting == [None]
    finally:
        await client.aclose()
