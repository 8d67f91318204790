"""Follow, unfollow, blacklist and the follow lists (app.md E18-E23, reference-facts §5.8).

Writes are atomic and idempotent under concurrency: the database itself tells whether a row
changed (a conditional ``UPDATE ... WHERE relation = <from>`` and its rowcount, or an INSERT in a
SAVEPOINT whose IntegrityError falls back to the UPDATE), and only a change moves the counters
and drops cache keys, after the commit (``on_commit``), so a rollback changes nothing in Redis.

Each write first locks the users' ``user_basic`` rows in id order: its own row FOR UPDATE,
the other user's FOR SHARE. That serializes one user's relation writes, and a follow against a
concurrent blacklist of the follower by the target (their locks conflict both ways), so "blocked
users cannot follow" holds under races; follows of one popular target stay concurrent (shared
locks). Rows are read before they are updated, so no statement ever locks a gap of the unique
index, which is what makes two InnoDB inserts deadlock.

Blacklisting hides content both ways (fixes reference-facts §14.44): it removes my follow of the
target *and* the target's follow of me, and a user blacklisted by the target cannot follow them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest
from toutiao.models import User, UserRelation
from toutiao.models.base import local_now
from toutiao.models.enums import Relation
from toutiao.notify import FOLLOWING
from toutiao.notify.service import notify_after_commit
from toutiao.recommend import events
from toutiao.relation import cache as rc
from toutiao.runtime import Runtime
from toutiao.stats import counters
from toutiao.stats.service import user_counts_from_db
from toutiao.stats.tasks import mark_dirty
from toutiao.user import cache as user_cache
from toutiao.user.service import photo_url

log = logging.getLogger("toutiao.relation")


class InvalidTarget(BadRequest):
    message = "Invalid target user."


class SelfTarget(BadRequest):
    message = "You cannot follow or blacklist yourself."


class BlockedByTarget(BadRequest):
    message = "You are blocked by this user."


# -- reading relations (cached) ---------------------------------------------------------------


def queue_relation_read(pipe: Any, user_id: int, target: int) -> int:
    """Queue on a *storage* pipeline what :func:`resolve_relation` needs; returns how many
    commands were queued (pass exactly their results, in order, to ``resolve_relation``)."""
    rc.queue_relationship_read(pipe, user_id, [target])
    return 1


async def resolve_relation(
    runtime: Runtime, session: AsyncSession, user_id: int, target: int, results: list[Any]
) -> Relation:
    """``user_id``'s relation to ``target`` from the results of :func:`queue_relation_read`;
    the database (filling the cache) on a miss. An exception object in ``results`` (a pipeline
    run with ``raise_on_error=False``) counts as a Redis failure."""
    raw = results[0] if results else None
    return (await rc.relations(runtime.store, session, user_id, [target], raw))[target]


async def relations_of(
    runtime: Runtime, session: AsyncSession, user_id: int, targets: Sequence[int]
) -> dict[int, Relation]:
    """``user_id``'s relation to each target (NONE when there is none): one HMGET when warm."""
    wanted = list(dict.fromkeys(targets))
    if not wanted:
        return {}
    raw: Any = None
    try:
        async with runtime.store.pipeline(transaction=False) as pipe:
            rc.queue_relationship_read(pipe, user_id, wanted)
            (raw,) = await pipe.execute()
    except RedisError:
        log.warning("relation.cache_read_failed user=%s", user_id, exc_info=True)
    return await rc.relations(runtime.store, session, user_id, wanted, raw)


async def blocked_between(runtime: Runtime, session: AsyncSession, a: int, b: int) -> bool:
    """Whether either user blacklisted the other (both relations in one round trip)."""
    if a == b:
        return False
    results: list[Any] = [None, None]
    try:
        async with runtime.store.pipeline(transaction=False) as pipe:
            queue_relation_read(pipe, a, b)
            queue_relation_read(pipe, b, a)
            results = await pipe.execute(raise_on_error=False)
    except RedisError:
        log.warning("relation.cache_read_failed users=%s,%s", a, b, exc_info=True)
    if await resolve_relation(runtime, session, a, b, results[:1]) == Relation.BLACKLIST:
        return True
    return await resolve_relation(runtime, session, b, a, results[1:]) == Relation.BLACKLIST


def queue_blacklist_read(pipe: Any, user_id: int) -> int:
    """Like :func:`queue_relation_read`, for :func:`resolve_blacklist` (a storage pipeline)."""
    rc.queue_blocks_read(pipe, user_id)
    return 1


async def resolve_blacklist(
    runtime: Runtime, session: AsyncSession, user_id: int, results: list[Any]
) -> rc.Blocks:
    return await rc.blocks(runtime.store, session, user_id, results[0] if results else None)


async def blacklisted_ids(runtime: Runtime, session: AsyncSession, user_id: int) -> rc.Blocks:
    """Users in a blacklist relation with ``user_id`` in either direction (to hide their
    content from each other): all of them, or past ``rc.BLOCKS_CACHE_LIMIT`` a LARGE answer
    to ask :func:`blocked_among` about the users at hand."""
    results: list[Any] = []
    try:
        async with runtime.store.pipeline(transaction=False) as pipe:
            queue_blacklist_read(pipe, user_id)
            results = await pipe.execute()
    except RedisError:
        log.warning("relation.cache_read_failed user=%s", user_id, exc_info=True)
    return await resolve_blacklist(runtime, session, user_id, results)


Blocks = rc.Blocks


def not_blocked(blocks: rc.Blocks, author: Any) -> ColumnElement[bool] | None:
    """SQL: ``author`` (a user id column) is none of ``blocks`` (None: nothing to hide)."""
    if blocks.large:
        return rc.not_blocked(blocks.user_id, author)
    if blocks.ids:
        return author.not_in(sorted(blocks.ids))
    return None


async def blocked_among(
    runtime: Runtime, session: AsyncSession, blocks: rc.Blocks, others: Iterable[int]
) -> set[int]:
    """Which of ``others`` are in ``blocks`` (for a LARGE one: one round trip, and one
    indexed query for the users its cache lacks)."""
    wanted = sorted(set(others))
    if not blocks.large:
        return set(blocks.ids.intersection(wanted))
    if not wanted:
        return set()
    raw: Any = None
    try:
        async with runtime.store.pipeline(transaction=False) as pipe:
            rc.queue_blocked_read(pipe, blocks.user_id, wanted)
            (raw,) = await pipe.execute()
    except RedisError:
        log.warning("relation.cache_read_failed user=%s", blocks.user_id, exc_info=True)
    return await rc.blocked_among(runtime.store, session, blocks.user_id, wanted, raw)


# -- writes ---------------------------------------------------------------------------------


@dataclass
class _Changes:
    """What the committed write must do to Redis: counter deltas and keys to drop."""

    followings: Counter[int] = field(default_factory=Counter)
    fans: Counter[int] = field(default_factory=Counter)
    relationships: set[tuple[int, int]] = field(default_factory=set)  # (user, target)
    blocks: set[tuple[int, int]] = field(default_factory=set)  # (user, other), both ways
    lists: set[str] = field(default_factory=set)

    def follow(self, user_id: int, target: int, delta: int) -> None:
        self.followings[user_id] += delta
        self.fans[target] += delta
        self.relationships.add((user_id, target))
        self.lists.update((rc.followings_key(user_id), rc.fans_key(target)))

    def blacklist(self, user_id: int, target: int) -> None:
        self.relationships.add((user_id, target))
        self.blocks.update(((user_id, target), (target, user_id)))

    def __bool__(self) -> bool:
        return bool(self.relationships or self.blocks or self.lists)


def _publish(runtime: Runtime, session: AsyncSession, changes: _Changes) -> None:
    if not changes:
        return

    async def apply() -> None:
        try:
            async with runtime.store.pipeline(transaction=False) as pipe:
                for counter, deltas in (
                    (counters.USER_FOLLOWINGS, changes.followings),
                    (counters.USER_FANS, changes.fans),
                ):
                    for member, delta in deltas.items():
                        if delta:
                            counter.queue(pipe, member, delta)
                for user_id, target in changes.relationships:
                    rc.queue_forget_relationship(pipe, user_id, target)
                for user_id, other in changes.blocks:
                    rc.queue_forget_blocks(pipe, user_id, other)
                events.queue_exclusions_changed(pipe, *{user for user, _ in changes.blocks})
                await pipe.execute()
        except RedisError:
            # Counters are rebuilt by the repair job once Redis is back; TTLs bound stale relations.
            log.error("relation.publish_failed role=storage", exc_info=True)
            mark_dirty()
        try:
            async with runtime.cache.pipeline(transaction=False) as pipe:
                for key in changes.lists:
                    rc.queue_tombstone(pipe, key, rc.ZSET)
                await pipe.execute()
        except RedisError:
            log.error("relation.publish_failed role=cache", exc_info=True)

    on_commit(session, apply)


async def _lock_users(session: AsyncSession, user_id: int, other: int | None = None) -> None:
    """Lock my row FOR UPDATE and the other user's FOR SHARE, in id order (no deadlock); a
    missing other user is a 400. SQLite ignores this (its write transactions are serial)."""
    for uid in sorted({user_id} if other is None else {user_id, other}):
        found = await session.scalar(
            select(User.user_id).where(User.user_id == uid).with_for_update(read=uid != user_id)
        )
        if found is None:
            raise InvalidTarget() if uid != user_id else BadRequest("Invalid user.")


async def _transition(
    session: AsyncSession, user_id: int, target: int, to: Relation, sources: Sequence[Relation]
) -> Relation | None:
    """Move the (user, target) row to ``to`` if its relation is one of ``sources`` (a missing
    row counts as NONE). Returns the relation it had, or None when nothing changed."""
    where = (UserRelation.user_id == user_id, UserRelation.target_user_id == target)
    current = await session.scalar(select(UserRelation.relation).where(*where))
    if current is None:
        if Relation.NONE not in sources:
            return None
        now = local_now()
        try:
            async with session.begin_nested():
                await session.execute(
                    insert(UserRelation).values(
                        user_id=user_id,
                        target_user_id=target,
                        relation=to,
                        create_time=now,
                        update_time=now,
                    )
                )
            return Relation.NONE
        except IntegrityError:
            pass  # a concurrent writer created the row: the conditional UPDATEs decide
    for source in sorted(sources, key=lambda s: s != current):
        result = await session.execute(
            update(UserRelation)
            .where(*where, UserRelation.relation == source)
            .values(relation=to, update_time=local_now())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return source
    return None


def _refuse_self(user_id: int, target: int) -> None:
    if user_id == target:
        raise SelfTarget()


async def follow(runtime: Runtime, session: AsyncSession, user_id: int, target: int) -> None:
    """Follow ``target`` (clearing my blacklist of them); idempotent. 400 if the target does
    not exist, is me, or blacklisted me. Notifies the target only of a new follow."""
    _refuse_self(user_id, target)
    await _lock_users(session, user_id, target)
    theirs = await session.scalar(
        select(UserRelation.relation).where(
            UserRelation.user_id == target, UserRelation.target_user_id == user_id
        )
    )
    if theirs == Relation.BLACKLIST:
        raise BlockedByTarget()
    previous = await _transition(
        session, user_id, target, Relation.FOLLOW, (Relation.NONE, Relation.BLACKLIST)
    )
    if previous is None:
        return
    changes = _Changes()
    changes.follow(user_id, target, +1)
    if previous == Relation.BLACKLIST:
        changes.blacklist(user_id, target)
    _publish(runtime, session, changes)
    await notify_after_commit(runtime, session, FOLLOWING, actor_id=user_id, recipient_id=target)


async def unfollow(runtime: Runtime, session: AsyncSession, user_id: int, target: int) -> None:
    """Stop following ``target``; a no-op when I don't follow them."""
    if user_id == target:
        return
    await _lock_users(session, user_id)
    if await _transition(session, user_id, target, Relation.NONE, (Relation.FOLLOW,)) is not None:
        changes = _Changes()
        changes.follow(user_id, target, -1)
        _publish(runtime, session, changes)


async def blacklist(runtime: Runtime, session: AsyncSession, user_id: int, target: int) -> None:
    """Blacklist ``target``: my follow of them and their follow of me end; idempotent."""
    _refuse_self(user_id, target)
    await _lock_users(session, user_id, target)
    changes = _Changes()
    previous = await _transition(
        session, user_id, target, Relation.BLACKLIST, (Relation.NONE, Relation.FOLLOW)
    )
    if previous is not None:
        changes.blacklist(user_id, target)
        if previous == Relation.FOLLOW:
            changes.follow(user_id, target, -1)
    if await _transition(session, target, user_id, Relation.NONE, (Relation.FOLLOW,)) is not None:
        changes.follow(target, user_id, -1)
    _publish(runtime, session, changes)


async def unblacklist(runtime: Runtime, session: AsyncSession, user_id: int, target: int) -> None:
    """Remove ``target`` from my blacklist; a no-op when they are not on it."""
    if user_id == target:
        return
    await _lock_users(session, user_id)
    previous = await _transition(session, user_id, target, Relation.NONE, (Relation.BLACKLIST,))
    if previous is not None:
        changes = _Changes()
        changes.blacklist(user_id, target)
        _publish(runtime, session, changes)


# -- follow lists ---------------------------------------------------------------------------


async def _fans_counts(runtime: Runtime, session: AsyncSession, ids: list[int]) -> dict[int, int]:
    key = counters.USER_FANS.key
    try:
        scores = await counters.read_many(runtime.store, (counters.USER_FANS,), ids)
    except RedisError:
        scores = await user_counts_from_db(session, ids)
    return {uid: scores[uid][key] for uid in ids}


async def _follow_list(
    runtime: Runtime, session: AsyncSession, side: rc.Side, user_id: int, page: int, per_page: int
) -> dict[str, Any]:
    offset = (page - 1) * per_page
    total, ids = await rc.list_page(
        runtime.cache, runtime.store, session, side, user_id, offset, per_page
    )
    results: list[dict[str, Any]] = []
    if ids:
        profiles = await user_cache.get_profiles(runtime.cache, session, ids)
        fans = await _fans_counts(runtime, session, ids)
        if side is rc.FOLLOWINGS:
            mutual = await rc.follow_back(runtime.cache, session, user_id, ids)
        else:
            mine = await relations_of(runtime, session, user_id, ids)
            mutual = {uid for uid, relation in mine.items() if relation == Relation.FOLLOW}
        results = [
            {
                "id": uid,
                "name": profiles[uid]["name"],
                "photo": photo_url(runtime, profiles[uid]["photo"]),
                "fans_count": fans[uid],
                "mutual_follow": uid in mutual,
            }
            for uid in ids
            if uid in profiles  # a user deleted since the list was cached
        ]
    return {"total_count": total, "page": page, "per_page": per_page, "results": results}


async def followings(
    runtime: Runtime, session: AsyncSession, user_id: int, *, page: int, per_page: int
) -> dict[str, Any]:
    """Users I follow, newest follow first; ``mutual_follow``: they follow me too."""
    return await _follow_list(runtime, session, rc.FOLLOWINGS, user_id, page, per_page)


async def followers(
    runtime: Runtime, session: AsyncSession, user_id: int, *, page: int, per_page: int
) -> dict[str, Any]:
    """My followers, newest first; ``mutual_follow``: I follow them too."""
    return await _follow_list(runtime, session, rc.FANS, user_id, page, per_page)
