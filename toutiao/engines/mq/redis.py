"""Redis pub/sub fan-out: python-socketio's manager with a publisher that raises.

The stock ``AsyncRedisManager._publish`` logs and swallows failures; here a failed publish
drops the client, retries once on a fresh one and then raises, so the caller can log it and
back off. Consuming (the IM node's side) is the stock loop, which reconnects on its own.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from toutiao.engines.mq.control import SignOutAware
from toutiao.kit.redis import SentinelTarget

log = logging.getLogger("toutiao.mq")

# Publisher only: a read timeout on the subscriber would break its idle ``listen()``.
PUBLISHER_OPTIONS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
SUBSCRIBER_OPTIONS = {"socket_connect_timeout": 5.0, "health_check_interval": 30}


class RedisManager(SignOutAware, socketio.AsyncRedisManager):  # type: ignore[misc]
    name = "redis"

    def __init__(self, url: str, *, channel: str, write_only: bool = False) -> None:
        options = PUBLISHER_OPTIONS if write_only else SUBSCRIBER_OPTIONS
        super().__init__(url, channel=channel, write_only=write_only, redis_options=dict(options))

    def _redis_connect(self) -> None:
        """Sentinel URLs are read the way every other Redis user reads them
        (``/<service>/<db>``, kit/redis.py); python-socketio's parser expects ``/<db>/<service>``."""
        if not self.redis_url.startswith("redis+sentinel://"):
            super()._redis_connect()
            return
        self.redis = SentinelTarget.parse(self.redis_url).master(**self.redis_options)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True

    async def _publish(self, data: Any) -> Any:
        body = self.json.dumps(data)
        for attempt in (1, 2):
            if not self.connected:
                self._redis_connect()
            try:
                return await self.redis.publish(self.channel, body)
            except Exception:
                await self.close_connections()
                if attempt == 2:
                    raise
        return None

    async def close_connections(self) -> None:
        client, self.redis, self.pubsub, self.connected = self.redis, None, None, False
        if client is not None:
            try:
                await client.aclose()
            except Exception:  # already broken: nothing left to release
                log.debug("mq.redis_close_failed", exc_info=True)
