"""``local://``: tasks run in the caller, awaited (tests and one-off scripts; never production).

A failing task is logged and dropped, as a worker would after its retries; it never fails the
caller, whose own work has already committed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from toutiao.engines.tasks import JobFunc

log = logging.getLogger("toutiao.tasks")


class LocalQueue:
    name = "local"

    def __init__(self, jobs: Mapping[str, JobFunc], runtime: Any) -> None:
        self.jobs = jobs
        self.runtime = runtime

    async def send(self, task: str, *args: Any) -> None:
        job = self.jobs[task]  # an unknown name is a programming error: raise
        try:
            await job(self.runtime, *args)
        except Exception:
            log.exception("task.failed task=%s mode=local", task)

    async def flush_outbox(self) -> int:
        return 0

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
