"""The background pacer: bursts of background CPU are capped at a share of a core."""

from __future__ import annotations

import asyncio
import time

import pytest

from toutiao.kit.pace import CpuPacer


class Clocks:
    """A process's CPU and wall time, moved by the test; sleeping moves the wall time."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 100.0
        self.slept: list[float] = []

    def work(self, seconds: float) -> None:  # a unit of work that keeps a core busy
        self.cpu += seconds
        self.wall += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.wall += seconds

    def pacer(self, share: float = 0.5, slice_seconds: float = 0.010) -> CpuPacer:
        return CpuPacer(
            share,
            slice_seconds,
            cpu=lambda: self.cpu,
            clock=lambda: self.wall,
            sleep=self.sleep,
        )


async def test_work_under_the_slice_never_waits():
    clocks = Clocks()
    pacer = clocks.pacer()
    for _ in range(100):
        await pacer.turn()
        clocks.work(0.002)
        clocks.wall += 0.010  # mostly waiting on the network
    assert clocks.slept == [] and pacer.waited == 0


async def test_a_burst_runs_at_the_share_of_a_core():
    clocks = Clocks()
    pacer = clocks.pacer(share=0.5)
    start = clocks.wall
    for _ in range(50):  # 200 ms of CPU in units of 4 ms, back to back
        await pacer.turn()
        clocks.work(0.004)
    await pacer.turn()
    cpu_share = 0.200 / (clocks.wall - start)
    assert 0.45 <= cpu_share <= 0.52  # the last window, under the slice, runs unpaced
    assert max(clocks.slept) <= 0.013  # short pauses: no unit waits long
    assert len(clocks.slept) >= 15


async def test_idle_time_is_no_credit_for_a_later_burst():
    clocks = Clocks()
    pacer = clocks.pacer(share=0.5)
    clocks.wall += 60.0  # a quiet minute
    await pacer.turn()
    start = clocks.wall
    for _ in range(25):
        await pacer.turn()
        clocks.work(0.004)
    await pacer.turn()
    assert 0.100 / (clocks.wall - start) <= 0.52
    assert clocks.slept


async def test_units_that_arrive_during_a_pause_wait_for_its_end_in_order():
    """Refills are started newest first: a pause must not reorder them."""
    clocks = Clocks()
    resume = asyncio.Event()

    async def sleep(seconds: float) -> None:
        clocks.slept.append(round(seconds, 6))
        await resume.wait()
        clocks.wall += seconds

    pacer = CpuPacer(0.5, 0.010, cpu=lambda: clocks.cpu, clock=lambda: clocks.wall, sleep=sleep)
    clocks.work(0.020)
    went: list[int] = []

    async def unit(n: int) -> None:
        await pacer.turn()
        went.append(n)

    tasks = [asyncio.ensure_future(unit(n)) for n in range(4)]
    for _ in range(3):
        await asyncio.sleep(0)
    assert went == [] and clocks.slept == [0.02]  # one pause, every unit waiting on it
    resume.set()
    await asyncio.gather(*tasks)
    assert went == [0, 1, 2, 3] and pacer.waited == pytest.approx(0.02)


async def test_cpu_used_while_no_paced_work_ran_is_not_charged_to_it():
    """The recommender serves calls between refills: a refill after a busy minute of serving
    runs at once, and no pause is ever longer than a window at the share."""
    clocks = Clocks()
    pacer = clocks.pacer(share=0.5, slice_seconds=0.010)
    clocks.work(0.002)
    await pacer.turn()
    clocks.cpu += 36.0  # serving calls: 60 % of a core for a minute
    clocks.wall += 60.0
    await pacer.turn()
    assert clocks.slept == []
    clocks.cpu += 0.020  # two threads busy for 10 ms: more CPU than wall time
    clocks.wall += 0.010
    await pacer.turn()
    assert clocks.slept == [0.02]  # not 0.03: a pause is at most the horizon


def test_the_share_is_a_fraction_of_one_core():
    with pytest.raises(ValueError, match="share"):
        CpuPacer(0)
    with pytest.raises(ValueError, match="share"):
        CpuPacer(1.5)


async def test_with_the_real_clocks_a_spinning_loop_is_paced():
    pacer = CpuPacer(share=0.5, slice_seconds=0.005)
    start_cpu, start = time.process_time(), time.monotonic()
    while time.monotonic() - start < 0.2:
        await pacer.turn()
        end = time.process_time() + 0.001
        while time.process_time() < end:  # one millisecond of CPU
            pass
    # unpaced, the loop would use all of the wall time it was given (less when the machine
    # is busy: then the bound holds anyway)
    assert time.process_time() - start_cpu <= 0.6 * (time.monotonic() - start)
