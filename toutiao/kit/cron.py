"""Crontab expressions for APScheduler 3.

APScheduler 3's ``CronTrigger`` numbers weekdays 0=Monday..6=Sunday, while crontab numbers
them 0=Sunday..6=Saturday (7 is Sunday too); even its ``from_crontab`` passes the field
through unchanged. :func:`cron_fields` rewrites the weekday field into names, which both
agree on, so an operator's crontab line means what crontab says.
"""

from __future__ import annotations

_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token in _NAMES:
        return _NAMES.index(token)
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise ValueError(f"bad weekday {token!r} in crontab expression")


def _expand(part: str) -> list[int]:
    """Crontab weekday numbers (0=Sunday) one comma-separated part selects."""
    span, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if step < 1:
        raise ValueError(f"bad step in weekday {part!r}")
    if span == "*":
        first, last = 0, 6
    elif "-" in span:
        low, high = span.split("-", 1)
        first, last = _day_number(low), _day_number(high)
        if high.strip() == "7":
            last = 7  # "5-7" runs Friday to Sunday
        if last < first:
            raise ValueError(f"bad weekday range {part!r}")
    else:
        first = _day_number(span)
        last = 6 if step_text else first  # "1/2": from Monday on, every other day
    return [day % 7 for day in range(first, last + 1, step)]


def weekday_field(field: str) -> str:
    """A crontab day-of-week field as APScheduler weekday names (``*`` stays ``*``)."""
    if field == "*":
        return "*"
    days: list[int] = []
    for part in field.split(","):
        days.extend(day for day in _expand(part) if day not in days)
    return ",".join(_NAMES[day] for day in sorted(days))


def cron_fields(expression: str) -> dict[str, str]:
    """``"m h dom mon dow"`` as keyword arguments for APScheduler's ``cron`` trigger."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"a crontab expression has 5 fields, got {len(parts)}: {expression!r}")
    minute, hour, day, month, day_of_week = parts
    return {
        "minute": minute,
        "hour": hour,
        "day": day,
        "month": month,
        "day_of_week": weekday_field(day_of_week),
    }
