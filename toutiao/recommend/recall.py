"""Recall: candidate articles from several sources, and what ranking needs to know of them.

Sources: ``recent`` (newest approved articles of the channel, or of every channel for 0),
``hot`` (time-decayed popularity, or the lifetime counters before any event was folded),
``interest`` (more of the user's favourite channels), ``keyword`` (fresh articles carrying
the user's keywords) and ``similar`` (neighbours of what the user recently engaged with).

The recency source and article metadata live in ``meta.py``. The queries here are bounded
and indexed: dislikes through news_attitude's (user_id, article_id) key, blacklists through
user_relation's (user_id, target_user_id) key and (target_user_id, relation, update_time)
index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import ArticleAttitude, Channel, UserRelation
from toutiao.models.enums import Attitude, Relation
from toutiao.recommend import keys
from toutiao.recommend.profile import Profile
from toutiao.stats import counters

RECENT_PER_CHANNEL = 100  # one channel asked for
RECENT_ALL = 160  # channel 0: spread over the visible channels
INTEREST_PER_CHANNEL = 40  # channel 0: extra depth in the user's top channels
INTEREST_CHANNELS = 3
MAX_DEPTH = max(RECENT_PER_CHANNEL, INTEREST_PER_CHANNEL)
HOT_N = 60
KEYWORDS_N, PER_KEYWORD = 5, 20
SEEDS_N, PER_SEED = 5, 15
# Dislikes / blacklist rows read per user into the cached exclusions: a reader with more
# dislikes has the newest articles' ones there (ids grow with time; recall serves recent
# articles), read from the (user, article) index backwards, never the whole history; past
# this, what is served is checked against the database by ``excluded`` as well.
FILTER_ROWS = 2000
POPULARITY_COUNTERS = (
    (counters.ARTICLE_LIKES.key, 3.0),
    (counters.ARTICLE_COLLECTS.key, 4.0),
    (counters.ARTICLE_COMMENTS.key, 2.0),
    (counters.ARTICLE_READS.key, 0.1),
)


@dataclass
class Candidate:
    article_id: int
    sources: set[str] = field(default_factory=set)
    author_id: int = 0
    channel_id: int = 0
    published: float = 0.0  # epoch seconds
    popularity: float = 0.0  # log scale, not normalised
    keywords: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "+".join(sorted(self.sources))


class Pool(dict[int, Candidate]):
    def add(self, article_ids: list[Any], source: str) -> None:
        for raw in article_ids:
            article_id = int(raw)
            cand = self.get(article_id)
            if cand is None:  # (setdefault would build a Candidate for every id: ~7 % of a refill)
                cand = self[article_id] = Candidate(article_id)
            cand.sources.add(source)


# -- Redis sources ---------------------------------------------------------------------------


def queue_redis_sources(pipe: Any, channel_id: int, profile: Profile) -> list[tuple[str, int]]:
    """Queue the Redis reads of every source; returns (source, commands) in queue order."""
    pipe.zrevrange(keys.hot(channel_id), 0, HOT_N - 1)
    pipe.zrevrange(counters.ARTICLE_LIKES.key, 0, HOT_N - 1)
    words = profile.top_keywords(KEYWORDS_N)
    for word in words:
        pipe.zrevrange(keys.keyword(word), 0, PER_KEYWORD - 1)
    seeds = profile.positives[:SEEDS_N]
    for seed in seeds:
        pipe.zrevrange(keys.similar(seed), 0, PER_SEED - 1)
    return [("hot", 1), ("counters", 1), ("keyword", len(words)), ("similar", len(seeds))]


def add_redis_sources(pool: Pool, layout: list[tuple[str, int]], results: list[Any]) -> None:
    it = iter(results)
    found = {name: [next(it) for _ in range(count)] for name, count in layout}
    hot = found["hot"][0]
    # Until events are folded, lifetime likes stand in (global; the channel filter comes later).
    pool.add(hot or found["counters"][0], "hot")
    for ids in found["keyword"]:
        pool.add(ids, "keyword")
    for ids in found["similar"]:
        pool.add(ids, "similar")


def queue_features(pipe: Any, article_ids: list[int]) -> None:
    members = [str(a) for a in article_ids]
    pipe.zmscore(keys.HOT, members)
    for key, _ in POPULARITY_COUNTERS:
        pipe.zmscore(key, members)
    pipe.hmget(keys.ART_KEYWORDS, members)


def apply_features(cands: list[Candidate], results: list[Any]) -> None:
    hot, *counts, words = results
    for index, cand in enumerate(cands):
        lifetime = sum(
            weight * (found[index] or 0.0)
            for (_, weight), found in zip(POPULARITY_COUNTERS, counts, strict=True)
        )
        cand.popularity = math.log1p(max(hot[index] or 0.0, 0.0)) + 0.5 * math.log1p(lifetime)
        cand.keywords = tuple((words[index] or "").split())


# -- database sources and filters ------------------------------------------------------------


async def visible_channels(session: AsyncSession) -> list[int]:
    query = select(Channel.channel_id).where(Channel.is_visible.is_(True)).limit(1000)
    return list((await session.scalars(query)).all())


async def exclusions(session: AsyncSession, user_id: int) -> tuple[set[int], set[int], bool]:
    """(articles the user disliked, authors blocked in either direction, whether that is all
    of them), in one round trip: at most FILTER_ROWS rows of each kind, so a reader with more
    gets a part (the newest articles' dislikes) and ``complete`` False; then what is served
    is checked by :func:`excluded` as well."""
    disliked = (
        select(literal(0).label("kind"), ArticleAttitude.article_id.label("id"))
        .where(ArticleAttitude.user_id == user_id, ArticleAttitude.attitude == Attitude.DISLIKE)
        .order_by(ArticleAttitude.article_id.desc())
        .limit(FILTER_ROWS)
        .subquery()
    )
    blocked_by_me = (
        select(literal(1).label("kind"), UserRelation.target_user_id.label("id"))
        .where(UserRelation.user_id == user_id, UserRelation.relation == Relation.BLACKLIST)
        .limit(FILTER_ROWS)
        .subquery()
    )
    blocking_me = (
        select(literal(2).label("kind"), UserRelation.user_id.label("id"))
        .where(UserRelation.target_user_id == user_id, UserRelation.relation == Relation.BLACKLIST)
        .limit(FILTER_ROWS)
        .subquery()
    )
    query = union_all(
        *(select(part.c.kind, part.c.id) for part in (disliked, blocked_by_me, blocking_me))
    )
    found: tuple[set[int], set[int], set[int]] = (set(), set(), set())
    for kind, found_id in (await session.execute(query)).all():
        found[kind].add(found_id)
    complete = all(len(part) < FILTER_ROWS for part in found)
    return found[0], found[1] | found[2], complete


async def excluded(session: AsyncSession, user_id: int, authors: Mapping[int, int]) -> set[int]:
    """Which of these articles (article -> its author) the user may not be served: disliked,
    or by an author in a blacklist relation with the user (either direction). One query of
    indexed lookups through the unique (user_id, article_id) and (user_id, target_user_id)
    keys: its rows are bounded by the articles and authors asked about, never by the
    user's history."""
    if not authors:
        return set()
    people = sorted(set(authors.values()))
    disliked = select(literal(0).label("kind"), ArticleAttitude.article_id.label("id")).where(
        ArticleAttitude.user_id == user_id,
        ArticleAttitude.article_id.in_(sorted(authors)),
        ArticleAttitude.attitude == Attitude.DISLIKE,
    )
    blocked_by_me = select(literal(1).label("kind"), UserRelation.target_user_id.label("id")).where(
        UserRelation.user_id == user_id,
        UserRelation.target_user_id.in_(people),
        UserRelation.relation == Relation.BLACKLIST,
    )
    blocking_me = select(literal(1).label("kind"), UserRelation.user_id.label("id")).where(
        UserRelation.user_id.in_(people),
        UserRelation.target_user_id == user_id,
        UserRelation.relation == Relation.BLACKLIST,
    )
    found: tuple[set[int], set[int]] = (set(), set())
    for kind, found_id in await session.execute(union_all(disliked, blocked_by_me, blocking_me)):
        found[kind].add(found_id)
    dropped, blocked = found
    return {a for a, author in authors.items() if a in dropped or author in blocked}
