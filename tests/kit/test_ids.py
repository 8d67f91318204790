from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from toutiao.kit.ids import (
    EPOCH_MS,
    MAX_SEQUENCE,
    Snowflake,
    parts,
    snowflake_from_settings,
    timestamp_ms,
)

NOW_MS = 1_700_000_000_000


class FakeClock:
    """A time.time_ns stand-in that returns whatever millisecond a test sets."""

    def __init__(self, ms: int = NOW_MS) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms * 1_000_000 + 123_456  # sub-millisecond noise must be ignored


def take(generator: Snowflake, count: int) -> list[int]:
    return [generator.next_id() for _ in range(count)]


def assert_strictly_increasing(ids: list[int]) -> None:
    assert all(a < b for a, b in zip(ids, ids[1:], strict=False))


class TestNextId:
    def test_100k_ids_unique_and_strictly_increasing(self) -> None:
        ids = take(Snowflake(1, 2), 100_000)
        assert len(set(ids)) == len(ids)
        assert_strictly_increasing(ids)

    def test_ids_fit_in_signed_64_bits(self) -> None:
        ids = take(Snowflake(31, 31), 1000)
        assert all(0 < i < 2**63 for i in ids)

    def test_parts_round_trip(self) -> None:
        clock = FakeClock()
        generator = Snowflake(7, 19, clock=clock)
        first, second = take(generator, 2)
        assert parts(first) == (NOW_MS, 7, 19, 0)
        assert parts(second) == (NOW_MS, 7, 19, 1)
        assert timestamp_ms(first) == NOW_MS
        assert first == ((NOW_MS - EPOCH_MS) << 22) | (7 << 17) | (19 << 12)

    def test_new_millisecond_resets_sequence(self) -> None:
        clock = FakeClock()
        generator = Snowflake(0, 0, clock=clock)
        take(generator, 5)
        clock.ms += 1
        assert parts(generator.next_id()) == (NOW_MS + 1, 0, 0, 0)

    def test_sequence_overflow_moves_to_next_millisecond(self) -> None:
        generator = Snowflake(0, 0, clock=FakeClock())  # the clock never advances
        ids = take(generator, MAX_SEQUENCE + 2)
        assert parts(ids[MAX_SEQUENCE]) == (NOW_MS, 0, 0, MAX_SEQUENCE)
        assert parts(ids[-1]) == (NOW_MS + 1, 0, 0, 0)
        assert_strictly_increasing(ids)

    def test_unique_across_threads(self) -> None:
        generator = Snowflake(3, 4)
        results: list[list[int]] = [[] for _ in range(4)]
        barrier = threading.Barrier(4)

        def work(out: list[int]) -> None:
            barrier.wait()
            out.extend(take(generator, 25_000))

        threads = [threading.Thread(target=work, args=(out,)) for out in results]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        every = [i for out in results for i in out]
        assert len(every) == 100_000
        assert len(set(every)) == 100_000
        for out in results:
            assert_strictly_increasing(out)


class TestClockRollback:
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def generator(self, clock: FakeClock) -> Snowflake:
        return Snowflake(0, 1, clock=clock)

    def test_rollback_keeps_ids_increasing(self, clock: FakeClock, generator: Snowflake) -> None:
        before = take(generator, 3)
        clock.ms -= 5_000
        during = take(generator, 3)
        assert_strictly_increasing(before + during)
        assert {parts(i).timestamp_ms for i in during} == {NOW_MS}  # the logical clock

    def test_overflow_during_rollback_advances_logical_clock(
        self, clock: FakeClock, generator: Snowflake
    ) -> None:
        first = generator.next_id()
        clock.ms -= 10
        rest = take(generator, MAX_SEQUENCE + 1)
        assert_strictly_increasing([first, *rest])
        assert parts(rest[-1]) == (NOW_MS + 1, 0, 1, 0)

    def test_catching_up_resumes_wall_clock(self, clock: FakeClock, generator: Snowflake) -> None:
        first = generator.next_id()
        clock.ms -= 100
        second = generator.next_id()
        clock.ms = NOW_MS + 50
        third = generator.next_id()
        assert first < second < third
        assert parts(third) == (NOW_MS + 50, 0, 1, 0)

    def test_warns_once_per_rollback(
        self, clock: FakeClock, generator: Snowflake, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="toutiao.ids")
        generator.next_id()
        clock.ms -= 100
        take(generator, 10)
        clock.ms += 1  # still behind the logical clock: the same rollback
        take(generator, 10)
        assert len(caplog.records) == 1
        clock.ms -= 50  # a second rollback
        generator.next_id()
        assert len(caplog.records) == 2
        assert "rollback" in caplog.records[0].getMessage()


class TestValidation:
    @pytest.mark.parametrize(
        ("datacenter_id", "worker_id"), [(-1, 0), (32, 0), (0, -1), (0, 32), (True, 0)]
    )
    def test_out_of_range_ids_refused(self, datacenter_id: Any, worker_id: Any) -> None:
        with pytest.raises(ValueError, match="between 0 and 31"):
            Snowflake(datacenter_id, worker_id)

    def test_from_settings(self) -> None:
        settings: Any = SimpleNamespace(SNOWFLAKE_DATACENTER_ID=5, SNOWFLAKE_WORKER_ID=9)
        generator = snowflake_from_settings(settings)
        assert parts(generator.next_id())[1:3] == (5, 9)
