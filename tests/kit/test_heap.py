"""``heap.settle``: start-up objects leave the collector's generations, and young
collections come less often."""

from __future__ import annotations

import gc
from typing import Any

from toutiao.kit import heap, metrics


def test_settle_freezes_the_start_up_heap_and_raises_the_young_threshold() -> None:
    threshold = gc.get_threshold()
    try:
        kept = [[object()]]  # made at start-up and reachable: frozen, not scanned again
        heap.settle()
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # in no generation now
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, *threshold[1:])
        made_later = [[object()]]
        assert any(o is made_later for o in gc.get_objects())
        full = metrics.GC_PAUSES.labels("2")
        before = _count(full)
        gc.collect()
        assert _count(full) == before + 1  # each collection timed
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        gc.callbacks.remove(heap._timed)


def _count(histogram: Any) -> float:
    return float(next(s.value for s in histogram.collect()[0].samples if s.name.endswith("_count")))
