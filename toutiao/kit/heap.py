"""The garbage collector's full collections, kept short in long-running servers.

A full collection scans every tracked object. In an API worker most of them are made at
start-up (modules, classes, routes, validators: about 200,000 objects) and live as long as
the process, and a full collection took 160-240 ms under load: those pauses were the API's p99.
:func:`settle` collects once and then moves what exists into the collector's permanent
generation, so later full collections scan only what requests and caches made since.
Objects frozen this way are still freed by reference counting; only a reference cycle among
them would outlive the process's start-up, and start-up garbage is collected first.

A worker's first requests still build objects that live as long as it does: compiled SQL
statements and their caches, pooled connections, the OpenAPI document, validators and
serializers made on first use (a bench worker froze 11,000 of them at its first mark and
14,000 at its second, and then held under 1,000 tracked objects after a collection). A server
that counts its requests (:func:`request_began`, :func:`request_ended`) settles again when it
has answered each of :data:`WARM_AFTER` requests, at the first moment none is in flight, so
no request's own objects are frozen with the rest; routes first used later are caught by the
later marks. A worker kept busy without a break (a bench's warm-up at 100,000 articles had
none for minutes) settles :data:`PATIENCE` answers past the mark whatever is in flight. What
a request in flight, an open connection or a background task holds in a reference cycle at
such a moment is freed only when the process ends, once per mark.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Sequence

from toutiao.kit import metrics

log = logging.getLogger("toutiao.heap")


# Allocations between young collections (CPython's default is 700). A request allocates
# thousands of objects, so at the default a full collection came every few seconds under
# load. At this threshold a bench run had 2 full collections where it had 27, and young
# collections mostly stayed under 2 ms.
YOUNG_THRESHOLD = 20_000
# Requests answered after which the heap is settled again (each one pause, 30-70 ms in a bench
# worker on a slow machine).
WARM_AFTER = (1_000, 10_000, 100_000)
PATIENCE = 1_000  # answers past a mark spent waiting for a moment with no request in flight


def settle(*, again_after: Sequence[int] = ()) -> None:
    """Once start-up is done: collect, then freeze what is left; collect less often, and
    time every collection from then on (``toutiao_gc_pause_seconds``). With
    ``again_after``: settle again after each of so many answered requests (:class:`Warming`)."""
    _freeze("start")
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    if _timed not in gc.callbacks:
        gc.callbacks.append(_timed)
    warming.arm(again_after)


def _freeze(when: str) -> None:
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "heap.settled when=%s frozen=%d ms=%.0f",
        when,
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )


class Warming:
    """Counts the requests in flight and answered until the last settle; costs nothing once
    that is done, or when never armed (tests, processes that serve no requests)."""

    def __init__(self) -> None:
        self.marks: list[int] = []  # answered requests at which to settle; empty: not counting
        self.answered = 0
        self.in_flight = 0
        self.settled = 0  # settles done since start-up

    def arm(self, marks: Sequence[int]) -> None:
        self.marks, self.answered, self.in_flight = sorted(marks), 0, 0

    def began(self) -> None:
        if self.marks:
            self.in_flight += 1

    def ended(self) -> None:
        if not self.marks:
            return
        self.in_flight = max(self.in_flight - 1, 0)
        self.answered += 1
        if self.answered >= self.marks[0] and (not self.in_flight or self._impatient):
            # After this request's task has returned, not inside it.
            asyncio.get_running_loop().call_soon(self._settle)

    @property
    def _impatient(self) -> bool:
        return self.answered >= self.marks[0] + PATIENCE

    def _settle(self) -> None:
        if not self.marks or self.answered < self.marks[0]:
            return  # done already
        if self.in_flight and not self._impatient:
            return  # a request began meanwhile: the next quiet moment
        self.marks = [mark for mark in self.marks if mark > self.answered]
        self.settled += 1
        _freeze("warm")


warming = Warming()
request_began = warming.began
request_ended = warming.ended


_began = [0.0]


def _timed(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _began[0] = time.perf_counter()
    else:
        metrics.GC_PAUSES.labels(str(info["generation"])).observe(time.perf_counter() - _began[0])
