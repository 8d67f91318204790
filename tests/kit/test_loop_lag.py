"""``loop_lag.watching``: a loop held by synchronous work is counted and logged as late."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from toutiao.kit import loop_lag, metrics


def _over(bound: float) -> float:
    """How many lags the histogram holds above ``bound`` seconds (a bucket edge)."""
    samples = [s for s in metrics.LOOP_LAG.collect()[0].samples if s.labels["process"] == "test"]
    count = sum(s.value for s in samples if s.name.endswith("_count"))
    within = sum(
        s.value for s in samples if s.name.endswith("_bucket") and s.labels["le"] == str(bound)
    )
    return float(count - within)  # 0 before the first lag of this label


async def test_a_held_loop_is_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    before, before_small = _over(0.1), _over(0.002)
    with caplog.at_level(logging.WARNING, logger="toutiao.loop"):
        async with loop_lag.watching("test", every=0.01):
            await asyncio.sleep(0.05)  # a few wake-ups on time
            time.sleep(0.15)  # noqa: ASYNC251 - the loop held: the next wake-up is 0.14 s late
            await asyncio.sleep(0.05)
    assert _over(0.1) >= before + 1  # (a busy machine may add a late wake-up of its own)
    assert _over(0.002) >= before_small + 1
    prefix = "loop.stalled process=test ms="  # (an app's watch may share the loop)
    stalled = [m for r in caplog.records if (m := r.getMessage()).startswith(prefix)]
    assert any(int(m.removeprefix(prefix)) >= 100 for m in stalled), stalled


async def test_the_watch_ends_with_the_block() -> None:
    def watches() -> set[asyncio.Task[object]]:
        return {t for t in asyncio.all_tasks() if t.get_name() == "loop.lag"}

    others = watches()  # an app's, when one runs on this loop
    async with loop_lag.watching("test", every=0.01):
        [ours] = watches() - others
    assert ours.done() and watches() == others
