"""The shared write plumbing: deadlock retries (MySQL/MariaDB error 1213 only)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from toutiao.kit import writes


class TestDeadlockRetry:
    async def test_retries_only_deadlocks(self, runtime):
        class Orig(Exception):
            pass

        deadlock = OperationalError("UPDATE ...", {}, Orig(1213, "Deadlock found"))
        other = OperationalError("UPDATE ...", {}, Orig(1205, "Lock wait timeout"))
        async with runtime.db.session() as session:
            calls = []

            async def flaky() -> str:
                calls.append(1)
                if len(calls) < 3:
                    raise deadlock
                return "done"

            assert await writes.retry_deadlocks(session, flaky) == "done"
            assert len(calls) == 3

            async def fails() -> None:
                raise other

            with pytest.raises(OperationalError):
                await writes.retry_deadlocks(session, fails)

            async def always() -> None:
                raise deadlock

            with pytest.raises(OperationalError):
                await writes.retry_deadlocks(session, always, attempts=2)

    def test_deadlock_found_through_the_exception_chain(self):
        class Orig(Exception):
            pass

        savepoint_gone = OperationalError(
            "ROLLBACK TO SAVEPOINT", {}, Orig(1305, "SAVEPOINT does not exist")
        )
        savepoint_gone.__context__ = OperationalError("INSERT", {}, Orig(1213, "Deadlock"))
        assert writes.is_deadlock(savepoint_gone)
        assert not writes.is_deadlock(OperationalError("x", {}, Orig(1305, "x")))
