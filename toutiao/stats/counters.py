"""Counter sorted sets in the storage Redis: one zset per metric, member = id, score = count.

Key names are the original's (reference-facts §3.4) so operators' tooling keeps working;
the author reading counter gets the key the original meant to use.

Every write goes through :meth:`Counter.queue` / :meth:`Counter.incr` (or :meth:`Counter.touch`
beside a ZADD/ZREM), which also remembers the member in :data:`recent`: after a failover the
new master may lack the last writes the old one acknowledged, and those members are what
:func:`toutiao.stats.tasks.reconcile_recent` recounts from the database.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Long enough to cover a Sentinel's down-after period plus the failover (30 s + a few by
# default); a process writing more distinct members than MAX_RECENT in that time falls back
# to the full rebuild.
RECENT_SECONDS = 300.0
MAX_RECENT = 100_000


@dataclass
class RecentMembers:
    """(counter key, member) pairs this process wrote lately, oldest first, bounded."""

    window: float = RECENT_SECONDS
    limit: int = MAX_RECENT
    _seen: OrderedDict[tuple[str, int], float] = field(default_factory=OrderedDict)
    _overflow_at: float = float("-inf")

    def add(self, key: str, member: int) -> None:
        now = time.monotonic()
        pair = (key, int(member))
        self._seen.pop(pair, None)
        self._seen[pair] = now
        while len(self._seen) > self.limit:
            _, at = self._seen.popitem(last=False)
            if now - at < self.window:
                self._overflow_at = now

    def since(self, seconds: float | None = None) -> tuple[dict[str, set[int]], bool]:
        """``({counter key: members written in the last seconds}, whether some were dropped
        for room)``; dropped members mean only a full rebuild is sure to cover them."""
        cutoff = time.monotonic() - (self.window if seconds is None else seconds)
        members: dict[str, set[int]] = {}
        for (key, member), at in reversed(self._seen.items()):
            if at < cutoff:
                break
            members.setdefault(key, set()).add(member)
        return members, self._overflow_at >= cutoff

    def clear(self) -> None:
        self._seen.clear()
        self._overflow_at = float("-inf")


recent = RecentMembers()


STAGE_CHUNK = 10_000  # members per ZADD when a counter is rebuilt whole
STAGE_TTL = 3600


@dataclass(frozen=True)
class Counter:
    key: str
    description: str

    def touch(self, member: int) -> None:
        """Remember a member written (for the reconcile after a failover)."""
        recent.add(self.key, member)

    def queue(self, pipe: Any, member: int, amount: int) -> None:
        """ZINCRBY in ``pipe``, remembered for the reconcile after a failover."""
        recent.add(self.key, member)
        pipe.zincrby(self.key, amount, member)

    async def incr(self, redis: Any, member: int, amount: int = 1) -> int:
        recent.add(self.key, member)
        return int(await redis.zincrby(self.key, amount, member))

    async def get(self, redis: Any, member: int) -> int:
        score = await redis.zscore(self.key, member)
        return int(score) if score else 0

    def staging_key(self) -> str:
        """A fresh key for a rebuild to write the new zset into before swapping it in (one
        per rebuild, so two rebuilds at once never mix). Its hash tag is the counter's whole
        key, so on a cluster both sit in one slot and RENAME is allowed."""
        return "{" + self.key + "}:rebuild:" + secrets.token_hex(4)

    async def stage(
        self, redis: Any, chunks: AsyncIterable[Iterable[tuple[int, int]]]
    ) -> tuple[str | None, int]:
        """Write the (member, count) pairs of ``chunks`` (zero counts left out) into a new
        staging key, one ZADD per chunk; return the key (None when nothing was written) and
        the members written. At a million articles a counter has millions of members: one
        ZADD of them all outlasts the client's socket timeout and blocks Redis meanwhile,
        and holding them all costs hundreds of MB, so callers stream them in chunks of
        ``STAGE_CHUNK``."""
        key, written = None, 0
        async for chunk in chunks:
            mapping = {str(member): count for member, count in chunk if count}
            if not mapping:
                continue
            if key is None:
                key = self.staging_key()
                async with redis.pipeline(transaction=False) as pipe:
                    pipe.zadd(key, mapping)
                    pipe.expire(key, STAGE_TTL)  # a rebuild that dies leaves nothing
                    await pipe.execute()
            else:
                await redis.zadd(key, mapping)
            written += len(mapping)
        return key, written

    def queue_swap(self, pipe: Any, staged: str | None) -> None:
        """In a MULTI: the ``staged`` zset becomes the counter (RENAME carries the staging
        key's TTL along, PERSIST drops it); nothing staged: the counter is emptied."""
        if staged:
            pipe.rename(staged, self.key)
            pipe.persist(self.key)
        else:
            pipe.delete(self.key)

    async def replace(self, redis: Any, chunks: AsyncIterable[Iterable[tuple[int, int]]]) -> int:
        """Swap the whole zset at once: staged chunk by chunk, then renamed in one MULTI.
        Members written."""
        staged, written = await self.stage(redis, chunks)
        async with redis.pipeline(transaction=True) as pipe:
            self.queue_swap(pipe, staged)
            await pipe.execute()
        return written


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
    """Every (counter, member) score in ONE round trip, one ``ZMSCORE`` per counter (not one
    ``ZSCORE`` per member and counter): ``{member: {counter key: count}}``."""
    if not members:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for counter in counters:
            pipe.zmscore(counter.key, list(members))
        scores = await pipe.execute()
    result: dict[int, dict[str, int]] = {member: {} for member in members}
    for counter, values in zip(counters, scores, strict=True):
        for member, value in zip(members, values, strict=True):
            result[member][counter.key] = int(value or 0)
    return result
