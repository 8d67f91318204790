"""Snowflake ids: 41 bits of milliseconds since the Twitter epoch, 5 bits datacenter,
5 bits worker, 12 bits sequence. They fit in a signed 64-bit integer (BIGINT).

The original raised "invalid system clock" when time went backwards and shared 0/0 between
all processes (reference weakness §14.42). Here the generator keeps a logical clock: it
never issues a timestamp below the last one it used, so an NTP step back cannot stop
registrations or repeat an id. Every process needs its own datacenter/worker pair: unless
one is pinned in the settings, ``kit.idlease`` leases a free worker id in Redis at start.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from toutiao.config import Settings

log = logging.getLogger("toutiao.ids")

EPOCH_MS = 1288834974657
SEQUENCE_BITS = 12
WORKER_BITS = 5
DATACENTER_BITS = 5
TIMESTAMP_BITS = 41

WORKER_SHIFT = SEQUENCE_BITS
DATACENTER_SHIFT = SEQUENCE_BITS + WORKER_BITS
TIMESTAMP_SHIFT = SEQUENCE_BITS + WORKER_BITS + DATACENTER_BITS

MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
MAX_WORKER_ID = (1 << WORKER_BITS) - 1
MAX_DATACENTER_ID = (1 << DATACENTER_BITS) - 1
MAX_TIMESTAMP = (1 << TIMESTAMP_BITS) - 1


class SnowflakeParts(NamedTuple):
    timestamp_ms: int  # Unix milliseconds
    datacenter_id: int
    worker_id: int
    sequence: int


def _check_id(value: int, name: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{name} must be an integer between 0 and {maximum}, got {value!r}")
    return value


def _node_bits(datacenter_id: int, worker_id: int) -> int:
    return (datacenter_id << DATACENTER_SHIFT) | (worker_id << WORKER_SHIFT)


class Snowflake:
    def __init__(
        self,
        datacenter_id: int,
        worker_id: int,
        *,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.datacenter_id = _check_id(datacenter_id, "datacenter_id", MAX_DATACENTER_ID)
        self.worker_id = _check_id(worker_id, "worker_id", MAX_WORKER_ID)
        self._node = _node_bits(self.datacenter_id, self.worker_id)
        self._clock = clock
        self._lock = threading.Lock()
        self._last_ms = -1  # logical timestamp of the last id, relative to EPOCH_MS
        self._last_wall_ms = -1  # last clock reading, to tell a rollback from running ahead
        self._sequence = 0

    def next_id(self) -> int:
        with self._lock:
            now = self._clock() // 1_000_000 - EPOCH_MS
            self._note_rollback(now)
            if now > self._last_ms:
                self._last_ms = now
                self._sequence = 0
            elif self._sequence < MAX_SEQUENCE:
                self._sequence += 1
            else:
                # Borrow the next millisecond instead of spinning: no sleeping under the lock,
                # and a stopped or rolled-back clock cannot stall us. Python cannot sustain
                # 4096 ids/ms, so the logical clock never runs far ahead of the wall clock.
                self._last_ms += 1
                self._sequence = 0
            if not 0 <= self._last_ms <= MAX_TIMESTAMP:
                raise RuntimeError(f"system clock outside the Snowflake range: {now} ms")
            return (self._last_ms << TIMESTAMP_SHIFT) | self._node | self._sequence

    def rebind(self, worker_id: int) -> None:
        """Issue further ids under another worker id (see ``kit.idlease``)."""
        with self._lock:
            self.worker_id = _check_id(worker_id, "worker_id", MAX_WORKER_ID)
            self._node = _node_bits(self.datacenter_id, self.worker_id)

    def _note_rollback(self, now: int) -> None:
        if now < self._last_wall_ms:
            log.warning(
                "snowflake.clock_rollback: clock moved back %d ms; issuing ids from the "
                "logical clock until it catches up",
                self._last_wall_ms - now,
            )
        self._last_wall_ms = now


def timestamp_ms(snowflake_id: int) -> int:
    """Unix milliseconds at which the id was issued."""
    return (snowflake_id >> TIMESTAMP_SHIFT) + EPOCH_MS


def parts(snowflake_id: int) -> SnowflakeParts:
    return SnowflakeParts(
        timestamp_ms(snowflake_id),
        (snowflake_id >> DATACENTER_SHIFT) & MAX_DATACENTER_ID,
        (snowflake_id >> WORKER_SHIFT) & MAX_WORKER_ID,
        snowflake_id & MAX_SEQUENCE,
    )


def snowflake_from_settings(settings: Settings) -> Snowflake:
    """A pinned worker id from the settings, else a provisional one from the pid until
    ``kit.idlease.WorkerIdLease`` leases one (``Runtime.start``)."""
    worker_id = settings.SNOWFLAKE_WORKER_ID
    if worker_id is None:
        worker_id = os.getpid() % (MAX_WORKER_ID + 1)
    return Snowflake(settings.SNOWFLAKE_DATACENTER_ID, worker_id)
