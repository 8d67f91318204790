"""Commands are packed by hiredis: the same bytes as redis-py's own packer, the same errors."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from toutiao.kit import redis as kit_redis

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
