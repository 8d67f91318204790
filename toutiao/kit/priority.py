"""A process's CPU priority: work done ahead of need yields the CPU to requests.

`toutiao rpc`, `toutiao worker` and `toutiao scheduler` refill readers' queues, fold events,
build indexes: work that can wait some milliseconds. On a host they share with the API, a burst
of it took one of the cores while both API workers waited their turn on the other, and the
feed's slowest answers came from those moments. At a higher nice value the kernel gives the
API's processes the CPU first when both want it, and the background processes everything
the API leaves.

On Linux a nice value belongs to a thread, and new threads take their creator's: the start-up
lowers every thread the process has so far, so libraries that started one early are covered.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("toutiao.priority")

_TASKS = Path("/proc/self/task")


def _threads() -> list[int]:
    """This process's thread ids (0: the calling thread, where /proc is not there)."""
    try:
        return [int(p.name) for p in _TASKS.iterdir()]
    except OSError:
        return [0]


def lower_cpu_priority(nice: int) -> int:
    """Raise this process's nice value to at least ``nice`` (never lower it: a value set by
    the supervisor stays) and return the value it runs at."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice <= current:
        return current
    for tid in _threads():
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except ProcessLookupError:  # the thread ended meanwhile
            continue
        except OSError as exc:
            log.warning("priority.not_lowered nice=%d error=%s", nice, exc)
            return current
    return nice
