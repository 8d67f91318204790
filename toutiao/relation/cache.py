"""The relation domain's Redis keys (reference-facts §3.1, §3.2, §3.5) and how they are kept.

| key | role | type | content |
|---|---|---|---|
| ``user:{uid}:relationship`` | storage | hash | target id -> relation (0 none, 1 follow, 2 blacklist) |
| ``user:{uid}:blocked`` | storage | hash | user id -> 1 when in a blacklist relation with uid, either direction (0: none, LARGE only) |
| ``user:{uid}:following`` | cache | zset | followed ids, score = relation update time (s) |
| ``user:{uid}:fans`` | cache | zset | follower ids, score = relation update time (s) |

The relationship hash follows ``kit.cache``'s per-owner rules: COMPLETE (field ``-1``) for a
user with at most RELATIONSHIP_CACHE_LIMIT relations, LARGE (field ``-3``, only the targets
asked about, 0 for none) past it; a write tombstones the whole complete hash, or the target's
field of a LARGE one. So does the blocked hash, with BLOCKS_CACHE_LIMIT: it is read whole
(every blacklist relation of a COMPLETE one, in the caller's first pipeline) or, past the
limit, only its LARGE marker, and then asked about the users at hand (:func:`blocked_among`),
so no request reads a long blacklist.

The first two live in the storage role so the article and feed code can read them in the same
pipeline as the counters. A filled hash always carries the field ``-1`` (or ``-3``): it marks
the key as loaded, so one HMGET tells "no relation" from "not cached", and a user without
relations still gets a key (with the short TTL).

Tombstones: a write replaces a key with one *of the same type* holding only the INVALIDATED
marker (hash field ``-2``, zset member ``-2``) for TOMBSTONE_SECONDS. It is the protocol of
``kit.cache.invalidate``, typed, so a pipelined HMGET or ZSCORE never fails with WRONGTYPE;
never use ``kit.cache.invalidate`` on these keys. Fills only create a key that does not exist
(one Lua script: EXISTS, then write and EXPIRE), so a reader that loaded the rows before a write
committed cannot cache them after the write's tombstone, and no key is ever left without a TTL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, and_, exists, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.cache import HASH as OWNED_HASH
from toutiao.kit.cache import (
    INVALIDATED,
    TOMBSTONE_SECONDS,
    TTL,
    Owned,
    fill_items,
    fill_owned,
    parse_owned,
    parse_owned_whole,
    queue_forget_owned,
    queue_owned_read,
    queue_owned_read_whole,
    single_flight,
)
from toutiao.models import UserRelation
from toutiao.models.enums import Relation
from toutiao.stats import counters

log = logging.getLogger("toutiao.relation")

RELATIONSHIP_TTL = TTL(1800, 600)
FOLLOWINGS_TTL = TTL(1800, 600)
FANS_TTL = TTL(1800, 600)
BLOCKS_TTL = TTL(1800, 600)
# A user with no relations (or no blacklist) at all: the sentinel-only key lives shorter.
EMPTY_TTL = TTL(300, 60)
# Follow lists longer than this are paged in SQL instead of being cached whole.
LIST_CACHE_LIMIT = 10_000
# A user with more relations than this gets a LARGE relationship hash (cached per target).
RELATIONSHIP_CACHE_LIMIT = 10_000
# Blacklist relations (both directions) cached whole, and read whole by every logged-in
# comment list and search (the search engine gets them as hidden authors): more, and the
# blocked hash is LARGE, asked per user.
BLOCKS_CACHE_LIMIT = 1_000

# Commands that write each type's members, and each type's tombstone.
HASH = ("HSET", INVALIDATED, INVALIDATED)
ZSET = ("ZADD", "0", INVALIDATED)

# KEYS[1]; ARGV[1] ttl, ARGV[2] the write command, ARGV[3..] its arguments (pairs for
# HSET/ZADD: chunks of 1000 keep them aligned and stay under Lua's unpack limit).
_FILL = """
if redis.call('EXISTS', KEYS[1]) == 1 or #ARGV < 3 then return 0 end
for i = 3, #ARGV, 1000 do
  redis.call(ARGV[2], KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""
_TOMBSTONE = """
redis.call('DEL', KEYS[1])
redis.call(ARGV[2], KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


class Lookup(Enum):
    HIT = "hit"
    MISS = "miss"  # not cached: load from the database and fill
    BYPASS = "bypass"  # a tombstone, or Redis failed: read the database, fill nothing


def relationship_key(user_id: int) -> str:
    return f"user:{user_id}:relationship"


def blocks_key(user_id: int) -> str:
    return f"user:{user_id}:blocked"


def followings_key(user_id: int) -> str:
    return f"user:{user_id}:following"


def fans_key(user_id: int) -> str:
    return f"user:{user_id}:fans"


def queue_tombstone(pipe: Any, key: str, kind: tuple[str, ...]) -> None:
    pipe.eval(_TOMBSTONE, 1, key, TOMBSTONE_SECONDS, *kind)


async def _fill(redis: Any, key: str, ttl: TTL, kind: tuple[str, ...], args: list[Any]) -> None:
    try:
        await redis.eval(_FILL, 1, key, ttl.draw(), kind[0], *args)
    except RedisError:
        log.warning("relation.cache_fill_failed key=%s", key, exc_info=True)


# -- relationship hash (storage role): one user's relations to everyone -------------------------------------------------------


def queue_relationship_read(pipe: Any, user_id: int, targets: Sequence[int]) -> None:
    """One HMGET: the targets' fields, then the markers (``kit.cache``'s per-owner rules)."""
    queue_owned_read(pipe, OWNED_HASH, relationship_key(user_id), [str(t) for t in targets])


def _pairs(relations: dict[int, Relation]) -> list[tuple[str, Any]]:
    return [(str(target), int(relation)) for target, relation in relations.items()]


async def fill_relationship(store: Any, user_id: int, relations: dict[int, Relation]) -> None:
    """Cache a user's complete relations (all of them: at most RELATIONSHIP_CACHE_LIMIT)."""
    ttl = RELATIONSHIP_TTL if relations else EMPTY_TTL
    await fill_owned(
        store, OWNED_HASH, relationship_key(user_id), ttl, _pairs(relations), large=False
    )


def queue_forget_relationship(pipe: Any, user_id: int, *targets: int) -> None:
    """After a committed change of ``user_id``'s relation to ``targets``."""
    queue_forget_owned(pipe, OWNED_HASH, relationship_key(user_id), *targets)


# -- blocked hash (storage role) --------------------------------------------------------------


@dataclass(frozen=True)
class Blocks:
    """The users in a blacklist relation with ``user_id``, either direction: ``ids`` is every
    one, unless ``large`` (more than BLOCKS_CACHE_LIMIT): then ask :func:`blocked_among`."""

    user_id: int
    ids: frozenset[int] = frozenset()
    large: bool = False


def queue_blocks_read(pipe: Any, user_id: int) -> None:
    """One command: the whole blocked hash, or its LARGE marker alone."""
    queue_owned_read_whole(pipe, OWNED_HASH, blocks_key(user_id))


def queue_blocked_read(pipe: Any, user_id: int, others: Sequence[int]) -> None:
    """One HMGET: are ``others`` blocked (a LARGE hash's per-user answers)."""
    queue_owned_read(pipe, OWNED_HASH, blocks_key(user_id), [str(o) for o in others])


def queue_forget_blocks(pipe: Any, user_id: int, *others: int) -> None:
    """After a committed blacklist change between ``user_id`` and ``others``."""
    queue_forget_owned(pipe, OWNED_HASH, blocks_key(user_id), *others)


async def blocks(store: Any, session: AsyncSession, user_id: int, raw: Any) -> Blocks:
    """Interpret a :func:`queue_blocks_read` result; the database when not cached (at most
    BLOCKS_CACHE_LIMIT + 1 rows, once: past the limit the hash is cached LARGE)."""
    read = parse_owned_whole(raw)
    if read.state == Owned.HIT:
        try:
            return Blocks(user_id, frozenset(int(o) for o, v in read.items.items() if v == "1"))
        except ValueError:
            return await _blocks_from_db(session, user_id)
    if read.state == Owned.LARGE:
        return Blocks(user_id, large=True)
    if read.state == Owned.BYPASS:
        return await _blocks_from_db(session, user_id)

    async def load() -> Blocks:
        found = await _blocks_from_db(session, user_id)
        pairs = [(str(o), 1) for o in found.ids]
        ttl = BLOCKS_TTL if pairs or found.large else EMPTY_TTL
        await fill_owned(store, OWNED_HASH, blocks_key(user_id), ttl, pairs, large=found.large)
        return found

    return await single_flight.do(blocks_key(user_id), load)


async def _blocks_from_db(session: AsyncSession, user_id: int) -> Blocks:
    mine = select(UserRelation.target_user_id.label("other")).where(
        UserRelation.user_id == user_id, UserRelation.relation == Relation.BLACKLIST
    )
    theirs = select(UserRelation.user_id.label("other")).where(
        UserRelation.target_user_id == user_id, UserRelation.relation == Relation.BLACKLIST
    )
    query = union(mine, theirs).limit(BLOCKS_CACHE_LIMIT + 1)
    found = frozenset(int(other) for other in await session.scalars(query))
    if len(found) > BLOCKS_CACHE_LIMIT:
        return Blocks(user_id, large=True)
    return Blocks(user_id, found)


async def blocked_among(
    store: Any, session: AsyncSession, user_id: int, others: list[int], raw: Any
) -> set[int]:
    """Which of ``others`` are in a blacklist relation with ``user_id``, from a
    :func:`queue_blocked_read` result: the LARGE hash's answers, then one indexed query for
    the users it lacks (cached in it), never the whole blacklist."""
    read = parse_owned(OWNED_HASH, raw, [str(o) for o in others])
    if read.state in (Owned.MISS, Owned.BYPASS):
        return await blocked_from_db(session, user_id, others)
    found = {int(o) for o, v in read.known.items() if v == "1"}
    if read.unknown:
        asked = [int(o) for o in read.unknown]
        some = await blocked_from_db(session, user_id, asked)
        if read.state == Owned.PARTIAL:
            pairs = [(str(o), 1 if o in some else 0) for o in asked]
            await fill_items(store, OWNED_HASH, blocks_key(user_id), pairs)
        found |= some
    return found


async def blocked_from_db(session: AsyncSession, user_id: int, others: Sequence[int]) -> set[int]:
    """Which of ``others`` are in a blacklist relation with ``user_id`` (indexed lookups by
    the unique (user_id, target_user_id) key, both ways)."""
    if not others:
        return set()
    mine = select(UserRelation.target_user_id.label("other")).where(
        UserRelation.user_id == user_id,
        UserRelation.target_user_id.in_(others),
        UserRelation.relation == Relation.BLACKLIST,
    )
    theirs = select(UserRelation.user_id.label("other")).where(
        UserRelation.user_id.in_(others),
        UserRelation.target_user_id == user_id,
        UserRelation.relation == Relation.BLACKLIST,
    )
    return {int(other) for other in await session.scalars(union(mine, theirs))}


def not_blocked(user_id: int, author: Any) -> ColumnElement[bool]:
    """SQL: ``author`` (a user id column) is in no blacklist relation with ``user_id``; a
    lookup of the unique (user_id, target_user_id) key per row, whatever the blacklist's size."""
    blacklist = UserRelation.relation == Relation.BLACKLIST
    mine = exists().where(
        UserRelation.user_id == user_id, UserRelation.target_user_id == author, blacklist
    )
    theirs = exists().where(
        UserRelation.user_id == author, UserRelation.target_user_id == user_id, blacklist
    )
    return and_(~mine, ~theirs)


# -- follow lists (cache role) ----------------------------------------------------------------


async def read_list_page(
    cache: Any, key: str, start: int, stop: int
) -> tuple[Lookup, int, list[int]]:
    """``(lookup, total, ids)`` of one page (ranks ``start..stop``, newest first), one round trip."""
    try:
        async with cache.pipeline(transaction=False) as pipe:
            pipe.zcard(key)
            pipe.zscore(key, INVALIDATED)
            pipe.zrevrange(key, start, stop)
            total, tombstone, members = await pipe.execute()
    except RedisError:
        log.warning("relation.cache_read_failed key=%s", key, exc_info=True)
        return Lookup.BYPASS, 0, []
    if tombstone is not None:
        return Lookup.BYPASS, 0, []
    if not total:
        return Lookup.MISS, 0, []
    return Lookup.HIT, int(total), [int(m) for m in members]


async def fill_list(cache: Any, key: str, ttl: TTL, members: Sequence[tuple[int, float]]) -> None:
    args: list[Any] = []
    for member, score in members:
        args += [repr(score), member]
    await _fill(cache, key, ttl, ZSET, args)


async def cached_members(cache: Any, key: str, ids: Sequence[int]) -> set[int] | None:
    """Which of ``ids`` are in the list at ``key``; None when the list is not usable from cache."""
    try:
        async with cache.pipeline(transaction=False) as pipe:
            pipe.exists(key)
            pipe.zscore(key, INVALIDATED)
            for member in ids:
                pipe.zscore(key, member)
            exists, tombstone, *scores = await pipe.execute()
    except RedisError:
        log.warning("relation.cache_read_failed key=%s", key, exc_info=True)
        return None
    if not exists or tombstone is not None:
        return None
    return {member for member, score in zip(ids, scores, strict=True) if score is not None}


# -- read-through: cache first, the database on a miss (filling the cache) -----------------------


async def relations(
    store: Any, session: AsyncSession, user_id: int, targets: list[int], raw: Any
) -> dict[int, Relation]:
    """Interpret a :func:`queue_relationship_read` result; the database when not cached.

    A miss loads at most RELATIONSHIP_CACHE_LIMIT + 1 relations once: within the limit all
    are cached; past it the hash is cached LARGE with the asked targets, and later targets are
    read (and cached) one query each, so no request reloads a long history.
    """
    key = relationship_key(user_id)
    read = parse_owned(OWNED_HASH, raw, [str(t) for t in targets])
    if read.state == Owned.BYPASS:
        return await relations_from_db(session, user_id, targets)
    if read.state == Owned.MISS:

        async def load() -> dict[int, Relation] | None:
            rows = await session.execute(
                select(UserRelation.target_user_id, UserRelation.relation)
                .where(UserRelation.user_id == user_id, UserRelation.relation != Relation.NONE)
                .limit(RELATIONSHIP_CACHE_LIMIT + 1)
            )
            loaded = {int(target): Relation(relation) for target, relation in rows}
            if len(loaded) > RELATIONSHIP_CACHE_LIMIT:
                return None
            await fill_relationship(store, user_id, loaded)
            return loaded

        if session.in_transaction():
            # Inside a transaction, load for ourselves: waiting on another caller's load can
            # deadlock where an open transaction holds the database's write lock (SQLite),
            # since that caller's query waits for our transaction to end.
            every = await load()
        else:
            every = await single_flight.do(key, load)
        if every is not None:
            return {target: every.get(target, Relation.NONE) for target in targets}
        found = await relations_from_db(session, user_id, targets)
        await fill_owned(store, OWNED_HASH, key, RELATIONSHIP_TTL, _pairs(found), large=True)
        return found
    try:
        known = {
            int(t): Relation.NONE if v is None else Relation(int(v)) for t, v in read.known.items()
        }
    except ValueError:
        return await relations_from_db(session, user_id, targets)
    if read.unknown:
        some = await relations_from_db(session, user_id, [int(t) for t in read.unknown])
        if read.state == Owned.PARTIAL:
            await fill_items(store, OWNED_HASH, key, _pairs(some))
        known.update(some)
    return {target: known[target] for target in targets}


async def relations_from_db(
    session: AsyncSession, user_id: int, targets: list[int]
) -> dict[int, Relation]:
    rows = await session.execute(
        select(UserRelation.target_user_id, UserRelation.relation).where(
            UserRelation.user_id == user_id, UserRelation.target_user_id.in_(targets)
        )
    )
    found = {int(target): Relation(relation) for target, relation in rows}
    return {target: found.get(target, Relation.NONE) for target in targets}


@dataclass(frozen=True, eq=False)
class Side:
    """One of the two follow lists: whose rows (``owner``) and which column is listed."""

    counter: counters.Counter
    owner: Any
    member: Any
    key: Callable[[int], str]
    ttl: TTL


FOLLOWINGS = Side(
    counters.USER_FOLLOWINGS,
    UserRelation.user_id,
    UserRelation.target_user_id,
    followings_key,
    FOLLOWINGS_TTL,
)
FANS = Side(
    counters.USER_FANS, UserRelation.target_user_id, UserRelation.user_id, fans_key, FANS_TTL
)


def score(update_time: datetime, relation_id: int) -> float:
    """Update time in seconds; the fraction orders rows of one second by row id, as the SQL
    ``ORDER BY update_time DESC, relation_id DESC`` does, so cache order = database order."""
    return update_time.timestamp() + (relation_id % 100_000) / 100_000


def _rows_query(side: Side, user_id: int) -> Any:
    return (
        select(side.member, UserRelation.update_time, UserRelation.relation_id)
        .where(side.owner == user_id, UserRelation.relation == Relation.FOLLOW)
        .order_by(UserRelation.update_time.desc(), UserRelation.relation_id.desc())
    )


async def _page_from_db(
    session: AsyncSession, side: Side, user_id: int, offset: int, limit: int
) -> tuple[int, list[int]]:
    total = await session.scalar(
        select(func.count())
        .select_from(UserRelation)
        .where(side.owner == user_id, UserRelation.relation == Relation.FOLLOW)
    )
    rows = await session.execute(_rows_query(side, user_id).offset(offset).limit(limit))
    return int(total or 0), [int(row[0]) for row in rows]


async def list_page(
    cache: Any, store: Any, session: AsyncSession, side: Side, user_id: int, offset: int, limit: int
) -> tuple[int, list[int]]:
    """``(total, ids)`` of one page of a follow list, newest first.

    A zero counter answers "empty" without Redis list or SQL (reference-facts §3.5); a list
    longer than LIST_CACHE_LIMIT is paged in SQL; otherwise the cached zset, filled on a miss.
    """
    try:
        count: int | None = await side.counter.get(store, user_id)
    except RedisError:
        count = None
    if count == 0:
        return 0, []
    if count is not None and count > LIST_CACHE_LIMIT:
        return await _page_from_db(session, side, user_id, offset, limit)
    key = side.key(user_id)
    lookup, total, ids = await read_list_page(cache, key, offset, offset + limit - 1)
    if lookup is Lookup.HIT:
        return total, ids
    if lookup is Lookup.BYPASS:
        return await _page_from_db(session, side, user_id, offset, limit)

    async def load() -> list[int] | None:
        query = _rows_query(side, user_id).limit(LIST_CACHE_LIMIT + 1)
        rows = (await session.execute(query)).all()
        if len(rows) > LIST_CACHE_LIMIT:
            return None
        members = [(int(member), score(when, row_id)) for member, when, row_id in rows]
        await fill_list(cache, key, side.ttl, members)
        return [member for member, _ in members]

    every = await single_flight.do(key, load)
    if every is None:
        return await _page_from_db(session, side, user_id, offset, limit)
    return len(every), every[offset : offset + limit]


async def follow_back(cache: Any, session: AsyncSession, user_id: int, ids: list[int]) -> set[int]:
    """Which of ``ids`` follow ``user_id``: from its cached fans list, else one SQL query."""
    found = await cached_members(cache, fans_key(user_id), ids)
    if found is not None:
        return found
    rows = await session.scalars(
        select(UserRelation.user_id).where(
            UserRelation.target_user_id == user_id,
            UserRelation.relation == Relation.FOLLOW,
            UserRelation.user_id.in_(ids),
        )
    )
    return {int(uid) for uid in rows}
