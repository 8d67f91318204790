"""Crontab weekday numbers mean what crontab says (0 and 7 = Sunday), checked on APScheduler's
own trigger: the next run after a known moment falls on the expected day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from toutiao.kit.cron import cron_fields, weekday_field
from toutiao.worker.schedule import schedule_tasks

UTC = UTC
SATURDAY = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # a Saturday, after 03:00


def _next_days(expression: str, count: int = 7) -> list[str]:
    trigger = CronTrigger(timezone=UTC, **cron_fields(expression))
    moment, days = SATURDAY, []
    for _ in range(count):
        moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
        days.append(moment.strftime("%a"))
    return days


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 3 * * 0", ["Sun"] * 3),
        ("0 3 * * 7", ["Sun"] * 3),
        ("0 3 * * 1", ["Mon"] * 3),
        ("0 3 * * 6", ["Sat"] * 3),
        ("0 3 * * 1-5", ["Mon", "Tue", "Wed"]),
        ("0 3 * * 5-7", ["Sun", "Fri", "Sat"]),
        ("0 3 * * 0,3", ["Sun", "Wed", "Sun"]),
        ("0 3 * * sun-tue", ["Sun", "Mon", "Tue"]),
        ("0 3 * * */3", ["Sun", "Wed", "Sat"]),
        ("0 3 * * *", ["Sun", "Mon", "Tue"]),
    ],
)
def test_weekdays_follow_crontab(expression: str, expected: list[str]) -> None:
    assert _next_days(expression, len(expected)) == expected


def test_fields_pass_through() -> None:
    assert cron_fields("15 */2 1 6 *") == {
        "minute": "15",
        "hour": "*/2",
        "day": "1",
        "month": "6",
        "day_of_week": "*",
    }
    assert weekday_field("1/2") == "mon,wed,fri"


@pytest.mark.parametrize("expression", ["0 3 * *", "0 3 * * 8", "0 3 * * 5-1", "0 3 * * xyz"])
def test_bad_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=r"crontab|weekday"):
        cron_fields(expression)


async def test_stats_reconcile_runs_on_the_crontab_weekday(runtime) -> None:
    jobs = AsyncIOScheduler(timezone=UTC)
    schedule_tasks(jobs, runtime, stats_cron="0 3 * * 1")
    trigger = jobs.get_job("stats.fix").trigger
    assert trigger.get_next_fire_time(None, SATURDAY).strftime("%a %H:%M") == "Mon 03:00"
