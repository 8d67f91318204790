"""The garbage collector's full collections, kept short in long-running servers.

A full collection scans every tracked object. In an API worker most of them are made at
start-up (modules, classes, routes, validators: about 200,000 objects) and live as long as
the process, and a full collection took 160-240 ms under load: those pauses were the API's p99.
:func:`settle` collects once and then moves what exists into the collector's permanent
generation, so later full collections scan only what requests and caches made since.
Objects frozen this way are still freed by reference counting; only a reference cycle among
them would outlive the process's start-up, and start-up garbage is collected first.

A worker's first requests still build objects that live as long as it does: compiled SQL
statements and their caches, pooled connections, validators and serializers made on first
use (about 25,000 in an API worker after a minute of traffic, against 2,000 that requests
and caches hold at any moment). A server that counts its requests (:func:`request_began`,
:func:`request_ended`) settles once more when it has answered :data:`WARM_AFTER` of them, at
the first moment none is in flight, so no request's own objects are frozen with the rest.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from toutiao.kit import metrics

log = logging.getLogger("toutiao.heap")


# Allocations between young collections (CPython's default is 700). A request allocates
# thousands of objects, so at the default a full collection came every few seconds under
# load. At this threshold a bench run had 2 full collections where it had 27, and young
# collections mostly stayed under 2 ms.
YOUNG_THRESHOLD = 20_000
WARM_AFTER = 1_000  # requests answered before the heap is settled once more


def settle(*, again_after: int | None = None) -> None:
    """Once start-up is done: collect, then freeze what is left; collect less often, and
    time every collection from then on (``toutiao_gc_pause_seconds``). With
    ``again_after``: settle once more after that many requests (see :class:`Warming`)."""
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
    """Counts requests in flight and answered until the second settle; costs nothing once
    it is done, or when never armed (tests, processes that serve no requests)."""

    def __init__(self) -> None:
        self.left: int | None = None  # answers to go; None: not counting
        self.in_flight = 0
        self.settled = 0  # second settles done (0 or 1)

    def arm(self, after: int | None) -> None:
        self.left, self.in_flight = after, 0

    def began(self) -> None:
        if self.left is not None:
            self.in_flight += 1

    def ended(self) -> None:
        if self.left is None:
            return
        self.in_flight = max(self.in_flight - 1, 0)
        self.left -= 1
        if self.left <= 0 and not self.in_flight:
            # After this request's task has returned, not inside it.
            asyncio.get_running_loop().call_soon(self._settle)

    def _settle(self) -> None:
        if self.left is None or self.left > 0 or self.in_flight:
            return  # already done, or a request began meanwhile: the next quiet moment
        self.left = None
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
