"""RabbitMQ fan-out (aio-pika): python-socketio's manager with a publisher that recovers.

The stock ``AsyncAioPikaManager._publish`` logs and swallows every failure, and keeps a
half-built connection forever if it was interrupted while connecting (a timeout), after which
nothing is ever published again. Here a failed publish drops the connection, retries once on a
fresh one and then raises, so the caller can log it and back off. Consuming (``_listen``, the
IM node's side) is the stock loop, which reconnects on its own.
"""

from __future__ import annotations

import logging
from typing import Any

import aio_pika
import socketio

from toutiao.engines.mq.control import SignOutAware

log = logging.getLogger("toutiao.mq")

CONNECT_TIMEOUT = 2.0  # seconds; the notifier bounds the whole publish as well


class AmqpManager(SignOutAware, socketio.AsyncAioPikaManager):  # type: ignore[misc]
    name = "amqp"

    async def _publish(self, data: Any) -> None:
        body = self.json.dumps(data).encode()
        for attempt in (1, 2):
            exchange = await self._publisher()
            try:
                await exchange.publish(aio_pika.Message(body=body), routing_key="*")
                return
            except Exception:
                await self.close_connections()
                if attempt == 2:
                    raise

    async def _publisher(self) -> Any:
        if self.publisher_exchange is None:
            async with self._lock:
                if self.publisher_exchange is None:
                    connection = await aio_pika.connect(self.url, timeout=CONNECT_TIMEOUT)
                    try:
                        channel = await connection.channel()
                        exchange = await self._exchange(channel)
                    except BaseException:
                        await connection.close()
                        raise
                    self.publisher_connection = connection
                    self.publisher_channel = channel
                    self.publisher_exchange = exchange
        return self.publisher_exchange

    async def close_connections(self) -> None:
        connection = self.publisher_connection
        self.publisher_connection = self.publisher_channel = self.publisher_exchange = None
        if connection is not None:
            try:
                await connection.close()
            except Exception:  # already broken: nothing left to release
                log.debug("mq.amqp_close_failed", exc_info=True)
