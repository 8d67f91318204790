"""Likes, dislikes and reports of articles (app.md E42-E46), and the per-user attitude cache.

Every state change is decided by the database, never by a read in Python (facts §14.23):
a conditional ``UPDATE ... WHERE attitude <expected>`` reports through its rowcount whether
this request made the transition, and a first attitude is an INSERT inside a SAVEPOINT whose
unique-key conflict means "someone else created the row: retry as an UPDATE". So concurrent
requests cannot both count the same like; the counters move after the commit by exactly the
transitions that committed.

InnoDB deadlocks are avoided by construction: each write first locks the user's own
``user_basic`` row (one user's writes are serial, so two first INSERTs of one row never meet),
and a plain read picks INSERT or UPDATE so that no UPDATE runs against a missing row (it would
lock an index gap, and other users' INSERTs into that gap deadlock). Without these, a burst of
50 requests on MariaDB made hundreds of deadlocks. One that still happens is retried.

``user:{uid}:art:attitude`` (storage role) is a hash: article id -> 0 dislike / 1 like, kept
by ``kit.cache``'s per-owner rules: marked COMPLETE (field ``-1``: an article missing from it
has no attitude) for a user with at most ``ATTITUDE_CACHE_LIMIT`` attitudes, or LARGE (field
``-3``) past it, holding only the articles asked about (-1: none), each read from SQL once. A
write tombstones the whole hash, or only the article's field in a LARGE hash, so a reader that
loaded the old rows before the write committed cannot cache them afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article.cache import get_card
from toutiao.kit.cache import (
    HASH,
    TTL,
    Owned,
    fill_items,
    fill_owned,
    parse_owned,
    queue_forget_owned,
    queue_owned_read,
)
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Conflict
from toutiao.kit.writes import insert_or_conflict, lock_user, retry_deadlocks
from toutiao.models import Article, ArticleAttitude, Report
from toutiao.models.base import local_now
from toutiao.models.enums import Attitude, ReportType
from toutiao.notify import LIKING
from toutiao.notify.service import notify_after_commit
from toutiao.recommend import events
from toutiao.relation import service as relation_service
from toutiao.relation.policy import ensure_may_interact
from toutiao.runtime import Runtime
from toutiao.stats import counters as c

log = logging.getLogger("toutiao.article")

ATTITUDE_TTL = TTL(1800, 600)
ATTITUDE_EMPTY_TTL = TTL(300, 60)
NO_ATTITUDE = -1
REMARK_MAX = 200
# A user with more attitudes than this is cached LARGE: per article, as articles are asked.
ATTITUDE_CACHE_LIMIT = 10_000


def attitude_key(user_id: int) -> str:
    return f"user:{user_id}:art:attitude"


# -- the database decides ---------------------------------------------------------------


async def _switch(
    session: AsyncSession, user_id: int, article_id: int, new: Attitude | None, old: Attitude | None
) -> bool:
    """``old -> new`` if the row is in state ``old`` now; True when this statement changed it."""
    current = ArticleAttitude.attitude
    result = await session.execute(
        update(ArticleAttitude)
        .where(
            ArticleAttitude.user_id == user_id,
            ArticleAttitude.article_id == article_id,
            current.is_(None) if old is None else current == old,
        )
        .values(attitude=new, update_time=local_now())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


class _Unchanged:
    pass


UNCHANGED = _Unchanged()


async def exists(session: AsyncSession, model: Any, user_id: int, article_id: int) -> bool:
    found = await session.scalar(
        select(model.user_id).where(model.user_id == user_id, model.article_id == article_id)
    )
    return found is not None


async def _write(
    session: AsyncSession, user_id: int, article_id: int, new: Attitude
) -> Attitude | None | _Unchanged:
    """Set ``new``; returns the attitude it replaced (None: none) or ``UNCHANGED``.

    The plain read only orders the statements: an UPDATE that matches no row would lock a gap
    of the unique index (gap locks make other users' INSERTs deadlock), and the observed state
    is tried first. The INSERT's conflict and the UPDATEs' rowcounts decide, so a stale read
    costs a statement, never a count.
    """
    await lock_user(session, user_id)
    row = (
        await session.execute(
            select(ArticleAttitude.attitude_id, ArticleAttitude.attitude).where(
                ArticleAttitude.user_id == user_id, ArticleAttitude.article_id == article_id
            )
        )
    ).first()
    if row is None:
        statement = insert(ArticleAttitude).values(
            user_id=user_id, article_id=article_id, attitude=new
        )
        if await insert_or_conflict(session, statement):
            return None
    observed = row.attitude if row is not None else None
    other = Attitude.DISLIKE if new == Attitude.LIKE else Attitude.LIKE
    for old in sorted((None, other), key=lambda state: state != observed):
        if await _switch(session, user_id, article_id, new, old):
            return old
    return UNCHANGED


# -- writes ---------------------------------------------------------------------------------


async def approved_card(runtime: Runtime, session: AsyncSession, article_id: int) -> dict[str, Any]:
    card = await get_card(runtime.cache, session, article_id)
    if card is None:
        raise BadRequest("Invalid target article.")
    return card


def _deltas(new: Attitude | None, old: Attitude | None) -> dict[c.Counter, int]:
    """Counter moves of one committed transition ``old -> new`` (None = no attitude)."""
    deltas: dict[c.Counter, int] = {}
    for attitude, sign in ((new, 1), (old, -1)):
        if attitude == Attitude.LIKE:
            deltas[c.ARTICLE_LIKES] = deltas.get(c.ARTICLE_LIKES, 0) + sign
            deltas[c.USER_LIKED] = deltas.get(c.USER_LIKED, 0) + sign
        elif attitude == Attitude.DISLIKE:
            deltas[c.ARTICLE_DISLIKES] = deltas.get(c.ARTICLE_DISLIKES, 0) + sign
    return deltas


def _after_commit(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int,
    article_id: int,
    author_id: int | None,
    deltas: dict[c.Counter, int],
    event: dict[str, Any] | None = None,
) -> None:
    """Counters (article, and likes received by the AUTHOR), the tombstone and the behaviour
    event, in one round trip once the transaction committed."""

    async def apply() -> None:
        async with runtime.store.pipeline(transaction=False) as pipe:
            for counter, amount in deltas.items():
                member = author_id if counter is c.USER_LIKED else article_id
                if amount and member is not None:
                    counter.queue(pipe, member, amount)
            queue_attitude_forget(pipe, user_id, article_id)
            if c.ARTICLE_DISLIKES in deltas:
                events.queue_exclusions_changed(pipe, user_id)
            if event is not None:
                events.queue_event(pipe, **event)
            await pipe.execute()

    on_commit(session, apply)


def queue_attitude_forget(pipe: Any, user_id: int, article_id: int) -> int:
    queue_forget_owned(pipe, HASH, attitude_key(user_id), article_id)
    return 1


async def set_attitude(
    runtime: Runtime, session: AsyncSession, user_id: int, article_id: int, attitude: Attitude
) -> bool:
    """Like or dislike an approved article (the latest wins); True if the state changed.

    A change is a ``like`` / ``dislike`` behaviour event for the recommender. A new like
    notifies the author: not oneself, and not across a blacklist (facts §14.44).
    """
    card = await approved_card(runtime, session, article_id)
    await ensure_may_interact(runtime, session, user_id, [card["aut_id"]])
    old = await retry_deadlocks(session, lambda: _write(session, user_id, article_id, attitude))
    if isinstance(old, _Unchanged):
        return False
    author_id = card["aut_id"]
    event = {
        "action": "like" if attitude == Attitude.LIKE else "dislike",
        "user_id": str(user_id),
        "article_id": article_id,
        "channel_id": card["ch_id"],
    }
    _after_commit(runtime, session, user_id, article_id, author_id, _deltas(attitude, old), event)
    if (
        attitude == Attitude.LIKE
        and author_id != user_id
        and not await relation_service.blocked_between(runtime, session, author_id, user_id)
    ):
        await notify_after_commit(
            runtime,
            session,
            LIKING,
            actor_id=user_id,
            recipient_id=author_id,
            article={"art_id": article_id, "title": card["title"]},
        )
    return True


async def clear_attitude(
    runtime: Runtime, session: AsyncSession, user_id: int, article_id: int, attitude: Attitude
) -> bool:
    """Withdraw a like (or a dislike) if there is one; idempotent, any article status."""

    async def write() -> bool:
        await lock_user(session, user_id)
        return await _switch(session, user_id, article_id, None, attitude)

    changed = await retry_deadlocks(session, write)
    if not changed:
        return False
    author_id = None
    if attitude == Attitude.LIKE:
        card = await get_card(runtime.cache, session, article_id)
        author_id = (
            card["aut_id"]
            if card
            else await session.scalar(
                select(Article.user_id).where(Article.article_id == article_id)
            )
        )
    _after_commit(runtime, session, user_id, article_id, author_id, _deltas(None, attitude))
    return True


async def report(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int,
    article_id: int,
    report_type: ReportType,
    remark: str | None,
) -> None:
    """One report per (user, article): a second one is a 409, whatever its type."""
    await approved_card(runtime, session, article_id)
    if remark is not None and len(remark) > REMARK_MAX:
        raise BadRequest(f"remark: at most {REMARK_MAX} characters")
    row = insert(Report).values(
        user_id=user_id,
        article_id=article_id,
        type=report_type,
        remark=(remark or None) if report_type == ReportType.OTHER else None,
    )
    if not await retry_deadlocks(session, lambda: insert_or_conflict(session, row)):
        raise Conflict("You have already reported this article.")


# -- the attitude cache ---------------------------------------------------------------------


def queue_attitude_read(pipe: Any, user_id: int, article_id: int) -> int:
    """Queue the read of the caller's attitude to one article; returns the commands queued."""
    return queue_attitudes_read(pipe, user_id, [article_id])


def queue_attitudes_read(pipe: Any, user_id: int, article_ids: Sequence[int]) -> int:
    queue_owned_read(pipe, HASH, attitude_key(user_id), [str(a) for a in article_ids])
    return 1


async def resolve_attitude(
    runtime: Runtime, session: AsyncSession, user_id: int, article_id: int, results: Sequence[Any]
) -> int:
    """-1 none, 0 dislike, 1 like, from what :func:`queue_attitude_read` queued (DB on a miss)."""
    return (await resolve_attitudes(runtime, session, user_id, [article_id], results))[article_id]


async def resolve_attitudes(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int,
    article_ids: Sequence[int],
    results: Sequence[Any],
) -> dict[int, int]:
    """``results``: the pipeline results of :func:`queue_attitudes_read` (empty when Redis failed).

    Warm, no SQL. A miss loads at most ``ATTITUDE_CACHE_LIMIT + 1`` rows once: within the
    limit the whole set is cached, past it the key is cached LARGE with the asked articles'
    answers, and later articles are read (and cached) one by one.
    """
    ids = list(dict.fromkeys(article_ids))
    key = attitude_key(user_id)
    read = parse_owned(HASH, results[0] if results else None, [str(a) for a in ids])
    if read.state == Owned.MISS:
        loaded = await _load_all(session, user_id)
        if len(loaded) <= ATTITUDE_CACHE_LIMIT:
            ttl = ATTITUDE_TTL if loaded else ATTITUDE_EMPTY_TTL
            await fill_owned(runtime.store, HASH, key, ttl, _pairs(loaded), large=False)
            return {a: loaded.get(a, NO_ATTITUDE) for a in ids}
        some = await _load_some(session, user_id, ids)
        await fill_owned(runtime.store, HASH, key, ATTITUDE_TTL, _pairs(some), large=True)
        return some
    found = {int(a): NO_ATTITUDE if v is None else int(v) for a, v in read.known.items()}
    if read.unknown:
        some = await _load_some(session, user_id, [int(a) for a in read.unknown])
        if read.state == Owned.PARTIAL:
            await fill_items(runtime.store, HASH, key, _pairs(some))
        found.update(some)
    return {a: found[a] for a in ids}


def _pairs(attitudes: dict[int, int]) -> list[tuple[str, Any]]:
    return [(str(a), attitude) for a, attitude in attitudes.items()]


async def attitudes_of(
    runtime: Runtime, session: AsyncSession, user_id: int, article_ids: Sequence[int]
) -> dict[int, int]:
    """The caller's attitude to each article: -1 none, 0 dislike, 1 like (one round trip warm)."""
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        return {}
    try:
        async with runtime.store.pipeline(transaction=False) as pipe:
            queue_attitudes_read(pipe, user_id, ids)
            results = await pipe.execute()
    except RedisError:
        log.warning("article.attitude_cache_unavailable user=%s", user_id)
        results = []
    return await resolve_attitudes(runtime, session, user_id, ids, results)


async def _load_all(session: AsyncSession, user_id: int) -> dict[int, int]:
    """At most ``ATTITUDE_CACHE_LIMIT + 1`` attitudes (more: too many to cache)."""
    rows = await session.execute(
        select(ArticleAttitude.article_id, ArticleAttitude.attitude)
        .where(ArticleAttitude.user_id == user_id, ArticleAttitude.attitude.is_not(None))
        .limit(ATTITUDE_CACHE_LIMIT + 1)
    )
    return {article_id: int(attitude) for article_id, attitude in rows}


async def _load_some(session: AsyncSession, user_id: int, ids: list[int]) -> dict[int, int]:
    rows = await session.execute(
        select(ArticleAttitude.article_id, ArticleAttitude.attitude).where(
            ArticleAttitude.user_id == user_id,
            ArticleAttitude.article_id.in_(ids),
            ArticleAttitude.attitude.is_not(None),
        )
    )
    found = {article_id: int(attitude) for article_id, attitude in rows}
    return {a: found.get(a, NO_ATTITUDE) for a in ids}
