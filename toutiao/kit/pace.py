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
        self.waited = 0.0  # seconds, in all (for tests and logs)

    async def turn(self) -> None:
        """Before a unit of work: wait, when the current window used its share."""
        now = self._clock()
        if now < self._wall_mark:  # a pause is under way: wait for its end too
            await self._wait(self._wall_mark - now)
            return
        used = self._cpu() - self._cpu_mark
        wall = now - self._wall_mark
        if wall >= STALE * self.horizon:
            # no unit for a while: what the process used meanwhile (serving its calls) is not
            # this work's, and waiting for it would only delay the work
            self._cpu_mark, self._wall_mark = self._cpu(), now
            return
        if used < self.slice:
            if wall >= self.horizon:  # a quiet window: a new one starts
                self._cpu_mark, self._wall_mark = self._cpu(), now
            return
        rest = min(used / self.share - wall, self.horizon)
        # the next window starts when this one's pause ends
        self._cpu_mark, self._wall_mark = self._cpu(), now + max(rest, 0.0)
        if rest > 0:
            await self._wait(rest)

    @property
    def horizon(self) -> float:
        """A window's wall time at the share: a longer one under the slice was quiet, and
        no pause is longer."""
        return self.slice / self.share

    async def _wait(self, seconds: float) -> None:
        self.waited += seconds
        await self._sleep(seconds)


# The background work of this process (refills, the event fold) shares one pacer: the share
# is the process's.
background = CpuPacer()
