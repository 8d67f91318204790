"""A user's interest profile: channels and keywords with decayed weights, plus the articles
they recently engaged with (seeds for "more like this").

Profiles are fed by folded events (``events.py``). A user with no profile yet gets one
bootstrapped from their likes and collections in the database, once a day at most, so
readers who predate the event log are not cold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import select

from toutiao.kit.db import Database
from toutiao.models import Article, ArticleAttitude, Collection
from toutiao.models.enums import ArticleStatus, Attitude
from toutiao.recommend import keys

INTEREST_HALF_LIFE = 14 * 86400.0
PROFILE_TTL = 90 * 86400
INTEREST_CAP = 100  # under 128 members a zset stays compact (listpack)
POSITIVES_CAP = 50
BOOTSTRAP_EVERY = 86400
BOOTSTRAP_ROWS = 100

POSITIVE_ACTIONS = frozenset({"click", "read", "like", "collect", "share"})
_WEIGHTS = {"click": 1.0, "like": 3.0, "collect": 4.0, "share": 4.0, "dislike": -3.0}


def action_weight(action: str, duration: float | None = None) -> float:
    if action == "read":  # one point per minute read, up to three
        return min((duration if duration is not None else 30.0) / 60.0, 3.0)
    return _WEIGHTS.get(action, 0.0)


def queue_interest(pipe: Any, uid: str, gains: dict[str, float]) -> None:
    key = keys.interest(uid)
    for member, gain in gains.items():
        pipe.zincrby(key, gain, member)
    pipe.zremrangebyrank(key, 0, -INTEREST_CAP - 1)
    pipe.expire(key, PROFILE_TTL)


def queue_positives(pipe: Any, uid: str, seen: dict[int, float], disliked: Iterable[int]) -> None:
    key = keys.positives(uid)
    if seen:
        pipe.zadd(key, {str(a): when for a, when in seen.items()})
    if gone := [str(a) for a in disliked]:
        pipe.zrem(key, *gone)
    pipe.zremrangebyrank(key, 0, -POSITIVES_CAP - 1)
    pipe.expire(key, PROFILE_TTL)


@dataclass
class Profile:
    channels: dict[int, float] = field(default_factory=dict)
    keywords: dict[str, float] = field(default_factory=dict)
    positives: list[int] = field(default_factory=list)  # most recent first

    @cached_property
    def _channel_total(self) -> float:
        return sum(w for w in self.channels.values() if w > 0)

    def channel_share(self, channel_id: int) -> float:
        """This channel's part of the user's positive channel interest, in [-1, 1]."""
        total = self._channel_total
        return max(self.channels.get(channel_id, 0.0) / total, -1.0) if total else 0.0

    def top_channels(self, n: int) -> list[int]:
        ranked = sorted(self.channels.items(), key=lambda cw: -cw[1])
        return [cid for cid, weight in ranked[:n] if weight > 0]

    def top_keywords(self, n: int) -> list[str]:
        ranked = sorted(self.keywords.items(), key=lambda kw: -kw[1])
        return [word for word, weight in ranked[:n] if weight > 0]


def parse_profile(interest: list[tuple[str, float]], positives: list[str]) -> Profile:
    profile = Profile(positives=[int(a) for a in positives])
    for member, weight in interest:
        kind, _, value = member.partition(":")
        if kind == "c" and value.isdigit():
            profile.channels[int(value)] = weight
        elif kind == "k" and value:
            profile.keywords[value] = weight
    return profile


async def bootstrap_profile(db: Database, redis: Any, uid: str, user_id: int) -> None:
    """Seed an empty profile from the user's recent likes and collections."""
    likes = (
        select(ArticleAttitude.article_id, Article.channel_id, ArticleAttitude.update_time)
        .join(Article, Article.article_id == ArticleAttitude.article_id)
        .where(
            ArticleAttitude.user_id == user_id,
            ArticleAttitude.attitude == Attitude.LIKE,
            Article.status == ArticleStatus.APPROVED,
        )
        .order_by(ArticleAttitude.update_time.desc())
        .limit(BOOTSTRAP_ROWS)
    )
    collections = (
        select(Collection.article_id, Article.channel_id, Collection.update_time)
        .join(Article, Article.article_id == Collection.article_id)
        .where(
            Collection.user_id == user_id,
            Collection.is_deleted.is_(False),
            Article.status == ArticleStatus.APPROVED,
        )
        .order_by(Collection.update_time.desc())
        .limit(BOOTSTRAP_ROWS)
    )
    async with db.read_session() as session:
        liked = (await session.execute(likes)).all()
        collected = (await session.execute(collections)).all()
    rows = [("like", *row) for row in liked] + [("collect", *row) for row in collected]
    await _write_bootstrap(redis, uid, rows)


async def _write_bootstrap(
    redis: Any, uid: str, rows: list[tuple[str, int, int, datetime]]
) -> None:
    article_ids = sorted({row[1] for row in rows})
    words = await redis.hmget(keys.ART_KEYWORDS, [str(a) for a in article_ids]) if rows else []
    keywords = {a: (w or "").split() for a, w in zip(article_ids, words, strict=True)}
    gains: dict[str, float] = {}
    seen: dict[int, float] = {}
    for action, article_id, channel_id, when in rows:
        weight = action_weight(action)
        gains[f"c:{channel_id}"] = gains.get(f"c:{channel_id}", 0.0) + weight
        for word in keywords.get(article_id, ()):
            gains[f"k:{word}"] = gains.get(f"k:{word}", 0.0) + weight / 2
        seen[article_id] = max(seen.get(article_id, 0.0), when.timestamp())
    async with redis.pipeline(transaction=False) as pipe:
        if gains:
            queue_interest(pipe, uid, gains)
        if seen:
            queue_positives(pipe, uid, dict(sorted(seen.items(), key=lambda s: -s[1])[:50]), ())
        pipe.set(keys.bootstrapped(uid), "1", ex=BOOTSTRAP_EVERY)
        await pipe.execute()
