"""Counter sorted sets in the storage Redis: one zset per metric, member = id, score = count.

Key names are the original's (reference-facts §3.4) so operators' tooling keeps working;
the author reading counter gets the key the original meant to use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Counter:
    key: str
    description: str

    async def incr(self, redis: Any, member: int, amount: int = 1) -> int:
        return int(await redis.zincrby(self.key, amount, member))

    async def get(self, redis: Any, member: int) -> int:
        score = await redis.zscore(self.key, member)
        return int(score) if score else 0

    async def replace(self, redis: Any, pairs: Iterable[tuple[int, int]]) -> None:
        """Swap the whole zset in one MULTI (one key, so it is valid on a cluster too)."""
        mapping = {str(member): count for member, count in pairs if count}
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key)
            if mapping:
                pipe.zadd(self.key, mapping)
            await pipe.execute()


ARTICLE_READS = Counter("count:art:reading", "article views")
ARTICLE_LIKES = Counter("count:art:liking", "article likes")
ARTICLE_DISLIKES = Counter("count:art:dislike", "article dislikes")
ARTICLE_COLLECTS = Counter("count:art:collecting", "article collections")
ARTICLE_COMMENTS = Counter("count:art:comm", "approved comments and replies of an article")
COMMENT_REPLIES = Counter("count:art:reply", "approved direct replies of a comment")
COMMENT_LIKES = Counter("count:comm:liking", "comment likes")
USER_ARTICLES = Counter("count:user:arts", "a user's approved articles")
USER_FOLLOWINGS = Counter("count:user:followings", "users a user follows")
USER_FANS = Counter("count:user:followers", "a user's followers")
USER_LIKED = Counter("count:user:liked", "likes received on a user's articles")
USER_READS = Counter("count:user:arts:reading", "views of a user's articles")
USER_COLLECTS = Counter("count:user:art:collecting", "articles a user collected")

ALL_COUNTERS = (
    ARTICLE_READS,
    ARTICLE_LIKES,
    ARTICLE_DISLIKES,
    ARTICLE_COLLECTS,
    ARTICLE_COMMENTS,
    COMMENT_REPLIES,
    COMMENT_LIKES,
    USER_ARTICLES,
    USER_FOLLOWINGS,
    USER_FANS,
    USER_LIKED,
    USER_READS,
    USER_COLLECTS,
)


async def read_many(
    redis: Any, counters: Sequence[Counter], members: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Every (counter, member) score in ONE round trip: ``{member: {counter key: count}}``."""
    async with redis.pipeline(transaction=False) as pipe:
        for member in members:
            for counter in counters:
                pipe.zscore(counter.key, member)
        scores = await pipe.execute()
    result: dict[int, dict[str, int]] = {}
    it = iter(scores)
    for member in members:
        result[member] = {counter.key: int(next(it) or 0) for counter in counters}
    return result
