"""Concurrent-write plumbing shared by every domain that writes per-user rows.

- :func:`lock_user` serializes one user's writes on the user's own ``user_basic`` row (an
  existing row, so a record lock): without it, two writers' reads or conditional UPDATEs of
  an absent (user, target) pair take the same gap lock of the unique index and their INSERTs
  deadlock on InnoDB. SQLite ignores it (its writers are serial anyway).
- :func:`retry_deadlocks` reruns a unit of work that InnoDB chose as a deadlock victim
  (MySQL/MariaDB error 1213: the whole transaction was rolled back, so rerunning is safe).
- :func:`insert_or_conflict` runs an INSERT in a SAVEPOINT and reports a unique-key conflict
  as False instead of failing the transaction.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import User

log = logging.getLogger("toutiao.db")

DEADLOCK = 1213
T = TypeVar("T")


def is_deadlock(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is MySQL/MariaDB error 1213."""
    while exc is not None:
        orig = getattr(exc, "orig", None)
        args = getattr(orig, "args", None) or ()
        if args and args[0] == DEADLOCK:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


async def retry_deadlocks(
    session: AsyncSession, work: Callable[[], Awaitable[T]], attempts: int = 5
) -> T:
    """Run ``work`` (statements on ``session``), rerunning it after a deadlock.

    The victim's transaction is gone, so the session is rolled back: callers must hold no
    other pending work in it.
    """
    for attempt in range(attempts):
        try:
            return await work()
        except DBAPIError as exc:
            if attempt + 1 == attempts or not is_deadlock(exc):
                raise
            log.info("db.deadlock_retry attempt=%s", attempt + 1)
            await session.rollback()
            await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")


async def lock_user(session: AsyncSession, user_id: int) -> None:
    """Serialize this user's writes (see the module docstring)."""
    await session.execute(select(User.user_id).where(User.user_id == user_id).with_for_update())


async def insert_or_conflict(session: AsyncSession, statement: Any) -> bool:
    """Execute an INSERT in a SAVEPOINT; False (and nothing written) on a unique-key conflict."""
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except IntegrityError:
        return False
    return True
