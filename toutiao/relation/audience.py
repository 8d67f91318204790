"""An author's followers as a whole: gender, age and area (mp.md §6.6), from ``user_profile``."""

from __future__ import annotations

from datetime import date
from typing import TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models.enums import Gender
from toutiao.relation.repository import FollowerRepository

# (label, the youngest age that is still outside the bucket); the last bucket is open.
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("<18", 18),
    ("18-24", 25),
    ("25-34", 35),
    ("35-44", 45),
    ("45+", None),
)
UNKNOWN = "unknown"
MAX_AREAS = 50


class GenderCounts(TypedDict):
    male: int
    female: int
    unknown: int


class AgeCount(TypedDict):
    range: str
    count: int


class AreaCount(TypedDict):
    name: str
    count: int


class Audience(TypedDict):
    total_count: int
    gender: GenderCounts
    age: list[AgeCount]
    area: list[AreaCount]


def age_on(birthday: date, today: date) -> int:
    before_birthday = (today.month, today.day) < (birthday.month, birthday.day)
    return today.year - birthday.year - int(before_birthday)


def age_bucket(birthday: date | None, today: date) -> str:
    if birthday is None or birthday > today:
        return UNKNOWN
    age = age_on(birthday, today)
    for label, limit in AGE_BUCKETS:
        if limit is None or age < limit:
            return label
    return UNKNOWN  # not reached: the last bucket is open


async def audience(session: AsyncSession, author_id: int, *, today: date) -> Audience:
    """Followers counted three ways. A follower without a profile row, birthday or area is
    counted as unknown (age, gender) or left out (area, which lists named areas only)."""
    repo = FollowerRepository.from_session(session)
    genders = await repo.by_gender(author_id)
    ages = {label: 0 for label, _ in AGE_BUCKETS} | {UNKNOWN: 0}
    for birthday, count in await repo.by_birthday(author_id):
        ages[age_bucket(birthday, today)] += count
    areas = [
        (name.strip(), n) for name, n in await repo.by_area(author_id) if name and name.strip()
    ]
    areas.sort(key=lambda pair: (-pair[1], pair[0]))
    return {
        "total_count": sum(genders.values()),
        "gender": {
            "male": genders.get(Gender.MALE, 0),
            "female": genders.get(Gender.FEMALE, 0),
            "unknown": genders.get(None, 0),
        },
        "age": [{"range": label, "count": count} for label, count in ages.items()],
        "area": [{"name": name, "count": count} for name, count in areas[:MAX_AREAS]],
    }
