"""Background work that leaves the CPU to the API: at most a share of a core in a burst.

Where the API shares its cores with background processes (the recommender's queue refills and
its event fold), a burst of background work held a core for 50-230 ms at a time, and the API's
answers queued behind it: the slowest seconds of the bench's paced phases were those bursts.
A :class:`CpuPacer` sits between the units of such work. Once the process has used ``slice``
seconds of CPU in its current window, the next unit waits until the window's CPU is no more
than ``share`` of its wall time (``slice / share`` at most). Work that uses little CPU never
waits; idle time is no credit for a later burst (a window under the slice ends after
``slice / share`` seconds); and CPU the process used while no paced work ran (serving its
calls) is not charged to the next unit.

A lower scheduling priority (nice) was tried instead: under a full load it starved the refills
and the readers' queues ran dry. A pacer caps only the bursts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

SHARE = 0.5  # of one core, at most, while background work runs
SLICE = 0.010  # seconds of CPU a burst may use before it is paced
STALE = 4  # horizons without a unit of work: the window is too old to judge


class CpuPacer:
    def __init__(
        self,
        share: float = SHARE,
        slice_seconds: float = SLICE,
        *,
        cpu: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.share, self.slice = share, slice_seconds
        self._cpu, self._clock, self._sleep = cpu, clock, sleep
        self._cpu_mark, self._wall_mark = cpu(), clock()
        self._pause: asyncio.Event | None = None
        self.waited = 0.0  # seconds, in all

    async def turn(self) -> None:
        """Before a unit of work: wait, when the current window used its share."""
        if self._pause is not None:  # a pause is under way: this unit waits for its end too
            await self._pause.wait()
            return
        now = self._clock()
        used = self._cpu() - self._cpu_mark
        wall = now - self._wall_mark
        if wall >= STALE * self.horizon:
            # no unit for a while: what the process used meanwhile (serving its calls) is not
            # this work's, and waiting for it would only delay the work
            self._restart(now)
            return
        if used < self.slice:
            if wall >= self.horizon:  # a quiet window: a new one starts
                self._restart(now)
            return
        rest = min(used / self.share - wall, self.horizon)
        if rest <= 0:
            self._restart(now)
            return
        self._pause = pause = asyncio.Event()
        self.waited += rest
        try:
            await self._sleep(rest)
        finally:
            self._pause = None
            pause.set()  # the units that came meanwhile go on, in the order they came
            self._restart(self._clock())

    def _restart(self, now: float) -> None:
        self._cpu_mark, self._wall_mark = self._cpu(), now

    @property
    def horizon(self) -> float:
        """A window's wall time at the share: a longer one under the slice was quiet, and
        no pause is longer."""
        return self.slice / self.share


# The background work of this process (refills, the event fold) shares one pacer: the share
# is the process's.
background = CpuPacer()
