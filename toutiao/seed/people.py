"""Rows for channels, users, profiles, follows, users' channel lists and announcements."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from toutiao.kit.ids import Snowflake
from toutiao.models.enums import AnnouncementStatus, Gender, Relation, UserStatus
from toutiao.seed import fragments as f
from toutiao.seed.text import nickname, person_name
from toutiao.seed.words import CITIES, TOPICS

Row = dict[str, Any]

EDITOR_MOBILE = "13911111111"
EDITOR_NAME = "黑马小编"
# Mobile network prefixes (1[3-9]x); any of them passes the app's mobile pattern.
_RANGES = (range(130, 140), range(150, 160), range(173, 178), range(180, 190), (166, 198, 199))
_MOBILE_PREFIXES = tuple(str(prefix) for block in _RANGES for prefix in block)


def channel_rows(now: datetime) -> list[Row]:
    return [
        {
            "channel_name": topic.name,
            "sequence": index + 1,
            "is_visible": True,
            "is_default": topic.default,
            "create_time": now,
            "update_time": now,
        }
        for index, topic in enumerate(TOPICS)
    ]


def _mobiles(rng: random.Random, count: int) -> list[str]:
    seen = {EDITOR_MOBILE}
    result = [EDITOR_MOBILE]
    while len(result) < count:
        mobile = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if mobile not in seen:
            seen.add(mobile)
            result.append(mobile)
    return result


def _names(rng: random.Random, count: int) -> list[str]:
    seen = {EDITOR_NAME}
    result = [EDITOR_NAME]
    while len(result) < count:
        name = nickname(rng)
        if name in seen:
            name = f"{name}{rng.randint(2, 99)}"
        if name not in seen:
            seen.add(name)
            result.append(name)
    return result


def user_rows(
    rng: random.Random, ids: Snowflake, count: int, now: datetime
) -> tuple[list[Row], list[Row]]:
    """Users oldest first (so ids grow with registration time); user 0 is the demo editor."""
    count = max(count, 1)
    mobiles, names = _mobiles(rng, count), _names(rng, count)
    media = {0, *rng.sample(range(1, count), (count - 1) // 3)} if count > 1 else {0}
    ages = sorted((rng.uniform(100, 400) for _ in range(count - 1)), reverse=True)
    users, profiles = [], []
    for index, age in enumerate([420.0, *ages]):
        registered = (now - timedelta(days=age)).replace(microsecond=0)
        is_media = index in media
        user_id = ids.next_id()
        users.append(_user(rng, user_id, mobiles[index], names[index], is_media, registered, now))
        profiles.append(_profile(rng, user_id, is_media, registered))
    users[0]["certificate"] = "头条官方编辑"
    users[0]["introduction"] = "每天为你精选技术好文"
    return users, profiles


def _user(
    rng: random.Random,
    user_id: int,
    mobile: str,
    name: str,
    is_media: bool,
    registered: datetime,
    now: datetime,
) -> Row:
    last_login = now - timedelta(hours=rng.uniform(0, 24 * 30))
    return {
        "user_id": user_id,
        "mobile": mobile,
        "user_name": name,
        "status": UserStatus.ENABLED,
        "profile_photo": None,
        "last_login": last_login.replace(microsecond=0),
        "is_media": is_media,
        "is_verified": is_media,
        "introduction": rng.choice(f.INTRODUCTIONS) if rng.random() < 0.5 else None,
        "certificate": rng.choice(f.CERTIFICATES) if is_media else None,
        "create_time": registered,
        "update_time": registered,
    }


def _profile(rng: random.Random, user_id: int, is_media: bool, registered: datetime) -> Row:
    birthday = None
    if rng.random() < 0.6:
        birthday = date(rng.randint(1975, 2004), rng.randint(1, 12), rng.randint(1, 28))
    return {
        "user_id": user_id,
        "gender": rng.choice((Gender.MALE, Gender.FEMALE)),
        "birthday": birthday,
        "real_name": person_name(rng) if is_media else None,
        "area": rng.choice(CITIES) if rng.random() < 0.7 else None,
        "career": rng.choice(f.CAREERS) if rng.random() < 0.5 else None,
        "register_media_time": registered + timedelta(days=3) if is_media else None,
        "create_time": registered,
        "update_time": registered,
    }


def follow_rows(rng: random.Random, users: list[Row], now: datetime) -> list[Row]:
    """Each user follows a few others, media users far more often; a few rows are
    withdrawn follows or blacklists, so the relation filter matters."""
    ids = [u["user_id"] for u in users]
    weights = [8.0 if u["is_media"] else 1.0 for u in users]
    weights[0] = 20.0  # everyone knows the editor
    rows = []
    for user in users:
        wanted = rng.randint(0, min(12, len(ids) - 1))
        targets = {t for t in rng.choices(ids, weights=weights, k=wanted) if t != user["user_id"]}
        for target in sorted(targets):
            roll = rng.random()
            relation = (
                Relation.FOLLOW
                if roll < 0.88
                else Relation.NONE
                if roll < 0.96
                else Relation.BLACKLIST
            )
            when = between(rng, user["create_time"], now)
            rows.append(_pair(user["user_id"], target, relation, when))
    return rows


def _pair(user_id: int, target: int, relation: Relation, when: datetime) -> Row:
    return {
        "user_id": user_id,
        "target_user_id": target,
        "relation": relation,
        "create_time": when,
        "update_time": when,
    }


def user_channel_rows(rng: random.Random, users: list[Row], channel_ids: list[int]) -> list[Row]:
    """About half of the users have customised their channel list."""
    rows = []
    for index, user in enumerate(users):
        if index and rng.random() < 0.5:
            continue
        chosen = rng.sample(channel_ids, rng.randint(4, min(10, len(channel_ids))))
        for sequence, channel_id in enumerate(chosen, start=1):
            rows.append(
                {
                    "user_id": user["user_id"],
                    "channel_id": channel_id,
                    "is_deleted": rng.random() < 0.05,
                    "sequence": sequence,
                    "create_time": user["create_time"],
                    "update_time": user["create_time"],
                }
            )
    return rows


def announcement_rows(rng: random.Random, now: datetime) -> list[Row]:
    rows = []
    for index, (title, content) in enumerate(f.ANNOUNCEMENTS):
        published = index < 2
        when = (now - timedelta(days=rng.uniform(1, 60))).replace(microsecond=0)
        rows.append(
            {
                "title": title,
                "content": content,
                "status": AnnouncementStatus.PUBLISHED
                if published
                else AnnouncementStatus.UNPUBLISHED,
                "publish_time": when if published else None,
                "create_time": when,
                "update_time": when,
            }
        )
    return rows


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max((end - start).total_seconds(), 0.0)
    return (start + timedelta(seconds=rng.uniform(0, span))).replace(microsecond=0)
