"""The garbage collector's full collections, kept short in long-running servers.

A full collection scans every tracked object. In an API worker most of them are made at
start-up (modules, classes, routes, validators: about 200,000 objects) and live as long as
the process, and a full collection took 160-240 ms under load: those pauses were the API's p99.
:func:`settle` collects once and then moves what exists into the collector's permanent
generation, so later full collections scan only what requests and caches made since.
Objects frozen this way are still freed by reference counting; only a reference cycle among
them would outlive the process's start-up, and start-up garbage is collected first.
"""

from __future__ import annotations

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


def settle() -> None:
    """Once start-up is done: collect, then freeze what is left; collect less often, and
    time every collection from then on (``toutiao_gc_pause_seconds``)."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    if _timed not in gc.callbacks:
        gc.callbacks.append(_timed)
    log.info(
        "heap.settled frozen=%d ms=%.0f",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )


_began = [0.0]


def _timed(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _began[0] = time.perf_counter()
    else:
        metrics.GC_PAUSES.labels(str(info["generation"])).observe(time.perf_counter() - _began[0])
