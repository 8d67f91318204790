"""The comment domain's Redis keys (reference-facts §3.2) and their helpers. Cache role, all TTL'd.

- ``comm:{cid}``: body of an approved comment, JSON ``{com_id, art_id, parent_id, aut_id,
  pubdate, content, is_top}``; ``-1`` when it does not exist or is not approved.
- ``art:{aid}:comm`` / ``comm:{cid}:reply``: zsets of the ids of an article's approved
  top-level comments / of a comment's approved direct replies.
- ``user:{uid}:comm:liked``: hash of the comment ids a user likes (``kit.cache``'s per-owner
  rules: COMPLETE with every liked id for a user with at most ``LIKED_CACHE_LIMIT`` liked
  comments; LARGE past it, holding only the comments asked about, 1 liked / 0 not).

Lists are ordered by id, exactly. A zset score is a double, exact only up to 2**53, and
Snowflake ids are near 2**61: neighbouring ids would share a score, and a score cursor would
skip or repeat comments (§14.9 in another form). So every member has score 0 and is the id
zero-padded to 19 digits: lexicographic order is numeric order, and ``ZRANGEBYLEX`` pages on
the exact id. The member ``MARK`` (id 0, never a comment) is always present, so an empty
list is cached too. A list is filled only when its key is absent, atomically with its
EXPIRE (one script: never a key without TTL); a tombstone left by ``kit.cache.invalidate``
makes zset commands fail with WRONGTYPE, which readers take as "read the database".
The liked hash uses same-type markers instead: field ``-1`` = complete, ``-3`` = large,
``-2`` = tombstone (a like in a LARGE hash tombstones only its comment).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article.cache import iso
from toutiao.kit.cache import (
    ABSENT,
    HASH,
    INVALIDATED,
    TOMBSTONE_SECONDS,
    TTL,
    Owned,
    dumps,
    fill_items,
    fill_owned,
    invalidate,
    parse_owned,
    queue_forget_owned,
    queue_owned_read,
)
from toutiao.models import Comment, CommentLiking
from toutiao.models.enums import CommentStatus

log = logging.getLogger("toutiao.comment")

BODY_TTL = TTL(1800, 600)
LIST_TTL = TTL(1800, 600)
ABSENT_TTL = TTL(300, 60)
LIKING_TTL = TTL(600, 120)
LIKING_EMPTY_TTL = TTL(180, 60)

ID_WIDTH = 19  # digits of the largest BIGINT
MARK = "0" * ID_WIDTH
AFTER_MARK = f"({MARK}"
# A user who liked more comments than this gets a LARGE liked hash (cached per comment).
LIKED_CACHE_LIMIT = 10_000

# KEYS[1] list; ARGV[1] ttl, ARGV[2..] members. Only onto an absent key (SET NX semantics).
_FILL_LIST = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local batch = {}
for i = 2, #ARGV do
  batch[#batch + 1] = 0
  batch[#batch + 1] = ARGV[i]
  if #batch >= 1000 then
    redis.call('ZADD', KEYS[1], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('ZADD', KEYS[1], unpack(batch)) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

# KEYS[1] list; ARGV[1] member, ARGV[2] tombstone seconds. A cached list gets the new id (it
# keeps its TTL); an absent one gets a tombstone, so a reader that loaded the list before
# the write committed cannot fill it without the new comment afterwards.
_ADD_TO_LIST = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'zset' then return redis.call('ZADD', KEYS[1], 0, ARGV[1]) end
if kind == 'none' then redis.call('SET', KEYS[1], '-2', 'EX', ARGV[2]) end
return 0
"""


def body_key(comment_id: int) -> str:
    return f"comm:{comment_id}"


def article_list_key(article_id: int) -> str:
    return f"art:{article_id}:comm"


def reply_list_key(comment_id: int) -> str:
    return f"comm:{comment_id}:reply"


def liking_key(user_id: int) -> str:
    return f"user:{user_id}:comm:liked"


def member(comment_id: int) -> str:
    return f"{comment_id:0{ID_WIDTH}d}"


def list_key_of(body: dict[str, Any]) -> str:
    """The list a comment appears in: its article's comments, or its parent's replies."""
    parent = body["parent_id"]
    return article_list_key(body["art_id"]) if parent is None else reply_list_key(parent)


# -- bodies ---------------------------------------------------------------------------------


def body_of(comment: Comment) -> dict[str, Any]:
    return {
        "com_id": comment.comment_id,
        "art_id": comment.article_id,
        "parent_id": comment.parent_id,
        "aut_id": comment.user_id,
        "pubdate": iso(comment.create_time),
        "content": comment.content,
        "is_top": int(bool(comment.is_top)),
    }


def decode_body(raw: Any) -> tuple[bool, dict[str, Any] | None]:
    """``(known, body)`` for a raw ``comm:{id}`` value; unknown means "ask the database"."""
    if raw is None or raw == INVALIDATED or isinstance(raw, Exception):
        return False, None
    return True, None if raw == ABSENT else orjson.loads(raw)


async def get_bodies(
    cache: Any, session: AsyncSession, ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Bodies of the approved comments among ``ids``: one MGET, one query for the misses, one
    pipelined fill (SET NX, so an invalidation is never overwritten by this read)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    try:
        raws = await cache.mget([body_key(i) for i in wanted])
        redis_up = True
    except RedisError:
        log.warning("comment.cache_read_failed: bodies from the database")
        raws, redis_up = [None] * len(wanted), False
    found: dict[int, dict[str, Any]] = {}
    missing: list[int] = []
    for comment_id, raw in zip(wanted, raws, strict=True):
        known, body = decode_body(raw)
        if not known:
            missing.append(comment_id)
        elif body is not None:
            found[comment_id] = body
    if missing:
        rows = await session.scalars(
            select(Comment).where(
                Comment.comment_id.in_(missing), Comment.status == CommentStatus.APPROVED
            )
        )
        loaded = {row.comment_id: body_of(row) for row in rows}
        found.update(loaded)
        if redis_up:
            await _fill_bodies(cache, missing, loaded)
    return found


async def _fill_bodies(cache: Any, ids: list[int], loaded: dict[int, dict[str, Any]]) -> None:
    try:
        async with cache.pipeline(transaction=False) as pipe:
            for comment_id in ids:
                body = loaded.get(comment_id)
                value, ttl = (dumps(body), BODY_TTL) if body else (ABSENT, ABSENT_TTL)
                pipe.set(body_key(comment_id), value, ex=ttl.draw(), nx=True)
            await pipe.execute()
    except RedisError:
        log.warning("comment.cache_fill_failed", exc_info=True)


async def get_body(cache: Any, session: AsyncSession, comment_id: int) -> dict[str, Any] | None:
    return (await get_bodies(cache, session, [comment_id])).get(comment_id)


async def put_body(cache: Any, body: dict[str, Any]) -> None:
    """The writer's own fresh copy: a plain SET (it may replace an absent marker)."""
    await cache.set(body_key(body["com_id"]), dumps(body), ex=BODY_TTL.draw())


# -- id lists -------------------------------------------------------------------------------


@dataclass
class Window:
    """One page of a cached list. ``state``: ``hit``, ``miss`` (not cached), ``blocked``
    (tombstone: read the database, don't fill) or ``down`` (Redis unreachable)."""

    state: str
    ids: list[int] = field(default_factory=list)
    end_id: int | None = None
    total: int = 0
    source_raw: Any = None  # the raw body of ``source_key``, read in the same round trip
    extra: list[Any] = field(default_factory=list)  # results of the ``extra`` commands


async def read_window(
    cache: Any,
    key: str,
    *,
    offset: int | None,
    limit: int,
    source_key: str | None = None,
    extra: Callable[[Any], None] | None = None,
) -> Window:
    """The ``limit`` newest ids below ``offset``, the oldest id and the size, plus the body at
    ``source_key`` and whatever ``extra`` queues: ONE round trip (errors come back as values)."""
    upper = f"({member(offset)}" if offset else "+"
    try:
        async with cache.pipeline(transaction=False) as pipe:
            if source_key is not None:
                pipe.get(source_key)
            pipe.zrevrangebylex(key, upper, AFTER_MARK, start=0, num=limit)
            pipe.zrangebylex(key, AFTER_MARK, "+", start=0, num=1)
            pipe.zcard(key)
            if extra is not None:
                extra(pipe)
            results = await pipe.execute(raise_on_error=False)
    except RedisError:
        log.warning("comment.cache_read_failed key=%s: list from the database", key)
        return Window("down")
    source_raw = results.pop(0) if source_key is not None else None
    page, oldest, size, *extras = results
    if any(isinstance(r, Exception) for r in (page, oldest, size)):
        return Window("blocked", source_raw=source_raw, extra=extras)
    if not size:
        return Window("miss", source_raw=source_raw, extra=extras)
    return Window(
        "hit",
        ids=[int(m) for m in page],
        end_id=int(oldest[0]) if oldest else None,
        total=int(size) - 1,
        source_raw=source_raw,
        extra=extras,
    )


async def fill_list(cache: Any, key: str, ids: Iterable[int]) -> None:
    args = [LIST_TTL.draw(), MARK, *(member(i) for i in ids)]
    try:
        await cache.eval(_FILL_LIST, 1, key, *args)
    except RedisError:
        log.warning("comment.cache_fill_failed key=%s", key, exc_info=True)


async def add_to_list(cache: Any, key: str, comment_id: int) -> None:
    await cache.eval(_ADD_TO_LIST, 1, key, member(comment_id), TOMBSTONE_SECONDS)


# -- the caller's liked set ---------------------------------------------------------------


def queue_liked(pipe: Any, user_id: int, ids: Sequence[int]) -> None:
    """Queue the membership test on a pipeline; read its result with :func:`liked_among`."""
    queue_owned_read(pipe, HASH, liking_key(user_id), [str(i) for i in ids])


async def liked_among(
    cache: Any, session: AsyncSession, user_id: int, ids: Sequence[int], raw: Any
) -> set[int]:
    """Which of ``ids`` the user likes, from a :func:`queue_liked` result (None or an
    exception: Redis failed). Warm, no SQL; a miss reads at most LIKED_CACHE_LIMIT + 1 rows
    once, and a LARGE hash one indexed query per comments not asked about before."""
    key = liking_key(user_id)
    read = parse_owned(HASH, raw, [str(i) for i in ids])
    if read.state == Owned.MISS:
        everything = await _load_liked(session, user_id)
        if len(everything) <= LIKED_CACHE_LIMIT:
            ttl = LIKING_TTL if everything else LIKING_EMPTY_TTL
            await fill_owned(cache, HASH, key, ttl, [(str(i), 1) for i in everything], large=False)
            return everything & set(ids)
        some = await _liked_of(session, user_id, ids)
        await fill_owned(cache, HASH, key, LIKING_TTL, _pairs(ids, some), large=True)
        return some
    liked = {int(i) for i, value in read.known.items() if value == "1"}
    if read.unknown:
        asked = [int(i) for i in read.unknown]
        some = await _liked_of(session, user_id, asked)
        if read.state == Owned.PARTIAL:
            await fill_items(cache, HASH, key, _pairs(asked, some))
        liked |= some
    return liked


def _pairs(ids: Sequence[int], liked: set[int]) -> list[tuple[str, Any]]:
    return [(str(i), 1 if i in liked else 0) for i in ids]


async def _load_liked(session: AsyncSession, user_id: int) -> set[int]:
    """At most ``LIKED_CACHE_LIMIT + 1`` liked comment ids (more: too many to cache whole)."""
    rows = await session.scalars(
        select(CommentLiking.comment_id)
        .where(CommentLiking.user_id == user_id, CommentLiking.is_deleted.is_(False))
        .limit(LIKED_CACHE_LIMIT + 1)
    )
    return set(rows)


async def _liked_of(session: AsyncSession, user_id: int, ids: Sequence[int]) -> set[int]:
    rows = await session.scalars(
        select(CommentLiking.comment_id).where(
            CommentLiking.user_id == user_id,
            CommentLiking.comment_id.in_(list(ids)),
            CommentLiking.is_deleted.is_(False),
        )
    )
    return set(rows)


async def forget_liked(cache: Any, user_id: int, comment_id: int) -> None:
    """After a committed like or unlike (a same-type tombstone, never an in-place write,
    which parallel like/unlike could apply in the wrong order)."""
    async with cache.pipeline(transaction=False) as pipe:
        queue_forget_owned(pipe, HASH, liking_key(user_id), comment_id)
        await pipe.execute()


async def forget(cache: Any, *bodies: dict[str, Any]) -> None:
    """After staff hide, restore or delete comments: drop their bodies and their lists."""
    keys = {k for body in bodies for k in (body_key(body["com_id"]), list_key_of(body))}
    await invalidate(cache, *sorted(keys))
