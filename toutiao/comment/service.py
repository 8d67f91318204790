"""Comments, replies and comment likes (app.md E47-E50, reference-facts §5.7).

Against the original (reference-facts §14): the cursor is the comment id, exact (9); pages
hold exactly ``limit`` items (8); ``total_count`` counts the list being paged (17); a
vanished comment is skipped, not a crash (13); replies notify the parent's author (14);
likes change counters only when a row changed (23); a warm page costs three Redis round
trips, not one per field (29); blacklists hide comments and refuse interactions (44).
Counters move after the commit (``on_commit``); the nightly reconcile repairs a lost one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article import cards
from toutiao.article.cache import get_card
from toutiao.comment import cache as cc
from toutiao.comment.repository import CommentRepository
from toutiao.kit.cache import single_flight
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Forbidden
from toutiao.kit.writes import lock_user
from toutiao.models import Comment, CommentLiking
from toutiao.models.base import local_now
from toutiao.models.enums import CommentStatus, Relation, StatisticsType
from toutiao.notify import COMMENT
from toutiao.notify.service import notify_after_commit
from toutiao.relation import service as relation_service
from toutiao.relation.policy import ensure_may_interact
from toutiao.runtime import Runtime
from toutiao.stats import activity
from toutiao.stats import counters as c
from toutiao.user import cache as user_cache

log = logging.getLogger("toutiao.comment")

MAX_CONTENT = 200  # characters; the column is VARCHAR(200) (§14.41)
MAX_LIMIT = 50
MORE_WINDOWS = 3  # further windows read to fill a page a LARGE blacklist thinned
WIDER = 4  # each of them this many pages' worth
ARTICLE, REPLIES = "a", "c"


# -- E47 list -----------------------------------------------------------------------------


async def list_comments(
    runtime: Runtime,
    session: AsyncSession,
    *,
    kind: str,
    source: int,
    offset: int | None = None,
    limit: int = 10,
    user_id: int | None = None,
) -> dict[str, Any]:
    """A page of an article's comments (``a``) or a comment's replies (``c``), newest id first.

    ``offset`` is an exclusive id cursor; ``end_id`` is the oldest id of the whole list, so
    the client is done when ``last_id == end_id``. Comments of users in a blacklist relation
    with the caller are hidden (and not counted). For a caller with more blacklist relations
    than the cache holds whole (``relation.cache.BLOCKS_CACHE_LIMIT``), a cached list is
    filtered by the authors of its pages instead (asked per author, never the whole
    blacklist): further windows are read to fill this one (up to MORE_WINDOWS), the hidden
    comments stay in ``total_count``, and ``end_id`` is the last one shown once the end of
    the list is reached.
    """
    if kind not in (ARTICLE, REPLIES):
        raise BadRequest("type: must be 'a' or 'c'")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit: must be between 1 and {MAX_LIMIT}")
    if kind == ARTICLE:
        if await get_card(runtime.cache, session, source) is None:
            raise BadRequest("source: no such article")
        key, source_key = cc.article_list_key(source), None
    else:
        key, source_key = cc.reply_list_key(source), cc.body_key(source)
    window, hidden = await _window_and_blacklist(
        runtime, session, key, offset, limit, source_key, user_id
    )
    if kind == REPLIES:
        known, body = cc.decode_body(window.source_raw)
        if not known:
            body = await cc.get_body(runtime.cache, session, source)
        if body is None:
            raise BadRequest("source: no such comment")

    more: Callable[[int, int], Awaitable[list[int]]] | None = None
    if hidden.ids or window.state in ("blocked", "down"):
        ids, total, end_id = await _page_from_db(
            session, _listed(kind, source), offset, limit, hidden
        )
    elif window.state == "miss":

        async def load_and_fill() -> list[int]:
            loaded = await _all_ids(session, _listed(kind, source))
            await cc.fill_list(runtime.cache, key, loaded)
            return loaded

        everything = await single_flight.do(key, load_and_fill)  # one loader per hot list
        ids = [i for i in everything if offset is None or i < offset][:limit]
        total, end_id = len(everything), (everything[-1] if everything else None)

        async def older_loaded(after: int, count: int) -> list[int]:
            return [i for i in everything if i < after][:count]

        more = older_loaded
    else:
        ids, total, end_id = window.ids, window.total, window.end_id

        async def older_cached(after: int, count: int) -> list[int]:
            further = await cc.read_window(runtime.cache, key, offset=after, limit=count)
            return further.ids if further.state == "hit" else []

        more = older_cached

    if hidden.large and more is not None:
        shown, end_id = await _unblocked(runtime, session, hidden, ids, limit, more, end_id)
    else:
        bodies = await cc.get_bodies(runtime.cache, session, ids)
        shown = [bodies[i] for i in ids if i in bodies]  # hidden since the list was cached
    items = await present(runtime, session, shown, user_id, redis_up=window.state != "down")
    return {
        "total_count": total,
        "end_id": end_id,
        "last_id": items[-1]["com_id"] if items else None,
        "results": items,
    }


async def _window_and_blacklist(
    runtime: Runtime,
    session: AsyncSession,
    key: str,
    offset: int | None,
    limit: int,
    source_key: str | None,
    user_id: int | None,
) -> tuple[cc.Window, relation_service.Blocks]:
    """The cached window and the caller's blacklist: one round trip when the cache and storage
    roles share a server (the blacklist set is a storage key), concurrent ones otherwise."""
    read = functools.partial(
        cc.read_window, runtime.cache, key, offset=offset, limit=limit, source_key=source_key
    )
    if user_id is None:
        return await read(), relation_service.Blocks(0)
    if runtime.redis.cache is not runtime.redis.storage:
        window, hidden = await asyncio.gather(
            read(), relation_service.blacklisted_ids(runtime, session, user_id)
        )
        return window, hidden
    window = await read(extra=lambda pipe: relation_service.queue_blacklist_read(pipe, user_id))
    hidden = await relation_service.resolve_blacklist(runtime, session, user_id, window.extra)
    return window, hidden


async def _unblocked(
    runtime: Runtime,
    session: AsyncSession,
    hidden: relation_service.Blocks,
    ids: list[int],
    limit: int,
    more: Callable[[int, int], Awaitable[list[int]]],
    end_id: int | None,
) -> tuple[list[dict[str, Any]], int | None]:
    """The bodies of a cached page without those whose authors are in a LARGE blacklist,
    read further (up to MORE_WINDOWS windows of WIDER pages) to fill it; and ``end_id``: the last one shown
    when the end of the list was reached (the oldest comment may be hidden)."""
    shown: list[dict[str, Any]] = []
    for window in range(MORE_WINDOWS + 1):
        bodies = await cc.get_bodies(runtime.cache, session, ids)
        found = [bodies[i] for i in ids if i in bodies]
        authors = [b["aut_id"] for b in found]
        blocked = await relation_service.blocked_among(runtime, session, hidden, authors)
        fitting = [b for b in found if b["aut_id"] not in blocked]
        room = limit - len(shown)
        shown += fitting[:room]
        if len(fitting) > room or not ids:
            return shown, end_id  # full before the end of what was read
        if end_id is None or end_id in ids:
            return shown, (shown[-1]["com_id"] if shown else None)
        if len(shown) == limit or window == MORE_WINDOWS:
            return shown, end_id
        ids = await more(ids[-1], limit * WIDER)
    return shown, end_id


def _listed(kind: str, source: int) -> list[ColumnElement[bool]]:
    """The rows of a list: an article's comments (``a``) or a comment's replies. Built only
    when the database is read: a warm page never is, and building the expressions was 3 % of
    its CPU."""
    if kind == ARTICLE:
        return [Comment.article_id == source, Comment.parent_id.is_(None)]
    return [Comment.parent_id == source]


def _approved(where: Sequence[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    return [*where, Comment.status == CommentStatus.APPROVED]


async def _all_ids(session: AsyncSession, where: Sequence[ColumnElement[bool]]) -> list[int]:
    rows = await session.scalars(
        select(Comment.comment_id).where(*_approved(where)).order_by(Comment.comment_id.desc())
    )
    return list(rows)


async def _page_from_db(
    session: AsyncSession,
    where: Sequence[ColumnElement[bool]],
    offset: int | None,
    limit: int,
    hidden: relation_service.Blocks,
) -> tuple[list[int], int, int | None]:
    """The page, the list size and its oldest id by SQL: without Redis, or hiding authors."""
    conditions = _approved(where)
    unblocked = relation_service.not_blocked(hidden, Comment.user_id)
    if unblocked is not None:
        conditions.append(unblocked)
    page = select(Comment.comment_id).where(*conditions)
    if offset is not None:
        page = page.where(Comment.comment_id < offset)
    ids = list(await session.scalars(page.order_by(Comment.comment_id.desc()).limit(limit)))
    total, end_id = (
        await session.execute(select(func.count(), func.min(Comment.comment_id)).where(*conditions))
    ).one()
    return ids, int(total), end_id


async def present(
    runtime: Runtime,
    session: AsyncSession,
    bodies: Sequence[dict[str, Any]],
    user_id: int | None,
    *,
    redis_up: bool = True,
) -> list[dict[str, Any]]:
    """E47 items: authors, like/reply counters and the caller's likes in ONE pipeline."""
    ids = [b["com_id"] for b in bodies]
    if not ids:
        return []
    reads = [(k, i) for i in ids for k in (c.COMMENT_LIKES, c.COMMENT_REPLIES)] if redis_up else []
    ask_liked = user_id is not None and redis_up
    shared = runtime.redis.cache is runtime.redis.storage
    extra = (lambda pipe: cc.queue_liked(pipe, user_id, ids)) if ask_liked and shared else None
    stage = cards.stage_two(
        runtime, session, author_ids=[b["aut_id"] for b in bodies], counter_reads=reads, extra=extra
    )
    if ask_liked and not shared:  # the liked set lives on the cache server: ask it meanwhile
        (authors, counts, _), flags = await asyncio.gather(
            stage, _liked_flags(runtime, user_id, ids)
        )
    else:
        authors, counts, extras = await stage
        flags = extras[0] if extras else None
    if not reads or any((k.key, i) not in counts for k, i in reads):
        counts = await _counts_from_db(session, ids)  # Redis is down (or went down meanwhile)
    liked = await _liked(runtime, session, user_id, ids, flags) if user_id else set()
    items = []
    for body in bodies:
        author = authors.get(body["aut_id"], {"name": "", "photo": ""})
        com_id = body["com_id"]
        items.append(
            {
                "com_id": com_id,
                "aut_id": body["aut_id"],
                "aut_name": author["name"],
                "aut_photo": cards.author_photo_url(runtime, author),
                "like_count": max(0, counts.get((c.COMMENT_LIKES.key, com_id), 0)),
                "reply_count": max(0, counts.get((c.COMMENT_REPLIES.key, com_id), 0)),
                "pubdate": body["pubdate"],
                "content": body["content"],
                "is_top": body["is_top"],
                "is_liking": com_id in liked,
            }
        )
    return items


async def _liked_flags(runtime: Runtime, user_id: int, ids: list[int]) -> Any:
    try:
        async with runtime.cache.pipeline(transaction=False) as pipe:
            cc.queue_liked(pipe, user_id, ids)
            return (await pipe.execute())[0]
    except RedisError:
        return None


async def _liked(
    runtime: Runtime, session: AsyncSession, user_id: int, ids: list[int], flags: Any
) -> set[int]:
    return await cc.liked_among(runtime.cache, session, user_id, ids, flags)


async def _counts_from_db(session: AsyncSession, ids: list[int]) -> dict[tuple[str, int], int]:
    likes = select(CommentLiking.comment_id, func.count()).where(
        CommentLiking.comment_id.in_(ids), CommentLiking.is_deleted.is_(False)
    )
    replies = select(Comment.parent_id, func.count()).where(
        Comment.parent_id.in_(ids), Comment.status == CommentStatus.APPROVED
    )
    counts: dict[tuple[str, int], int] = {}
    for counter, query, column in (
        (c.COMMENT_LIKES, likes, CommentLiking.comment_id),
        (c.COMMENT_REPLIES, replies, Comment.parent_id),
    ):
        for member, count in await session.execute(query.group_by(column)):
            counts[(counter.key, member)] = int(count)
    return counts


# -- E48 create ---------------------------------------------------------------------------


async def create_comment(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int,
    *,
    target: int,
    content: str,
    art_id: int | None = None,
) -> dict[str, Any]:
    """A comment on article ``target`` (no ``art_id``) or a reply to comment ``target`` of
    article ``art_id``: ``{com_id, target, art_id, new_obj}``."""
    text = content.strip()
    if not text:
        raise BadRequest("content: must not be empty")
    if len(text) > MAX_CONTENT:
        raise BadRequest(f"content: at most {MAX_CONTENT} characters")
    parent = None
    if art_id is not None:
        parent = await cc.get_body(runtime.cache, session, target)
        if parent is None or parent["art_id"] != art_id:
            raise BadRequest("target: no such comment on this article")
    article = await get_card(runtime.cache, session, art_id or target)
    if article is None:
        raise BadRequest("target: no such article")
    if not article["allow_comm"]:
        raise Forbidden("Comments are closed on this article.")
    # The article's author owns its comment section; a reply also reaches the parent's author.
    owners = [article["aut_id"], parent["aut_id"] if parent else None]
    await ensure_may_interact(runtime, session, user_id, owners, "You cannot comment here.")

    now = local_now()
    held = runtime.settings.COMMENT_PREMODERATION
    comment = Comment(
        comment_id=runtime.ids.next_id(),
        user_id=user_id,
        article_id=article["art_id"],
        parent_id=target if parent else None,
        content=text,
        is_top=False,
        # Pre-moderation holds it (pending) until staff approve it; otherwise visible at once.
        status=CommentStatus.PENDING if held else CommentStatus.APPROVED,
        create_time=now,
        update_time=now,
    )
    session.add(comment)
    await session.flush()
    body = cc.body_of(comment)
    if not held:
        _after_create(runtime, session, body)
        recipient = parent["aut_id"] if parent else article["aut_id"]
        await published(runtime, session, comment, article=article, recipient=recipient)
    return {
        "com_id": comment.comment_id,
        "target": target,
        "art_id": article["art_id"],
        "new_obj": await _new_item(runtime, session, body),
    }


async def published(
    runtime: Runtime,
    session: AsyncSession,
    comment: Comment,
    *,
    article: dict[str, Any] | None = None,
    recipient: int | None = None,
) -> None:
    """What a comment's first publication does besides counters and caches (at creation, or
    at staff approval of a pending one): the author's "comments from fans" figure, and the
    ``comment notify`` event to the article's author (the parent comment's for a reply).
    ``article`` (its card) and ``recipient`` are looked up when the caller lacks them."""
    if article is None:
        article = await get_card(runtime.cache, session, comment.article_id)
        if article is None:
            return
    await _count_fan_comment(runtime, session, comment.user_id, article)
    if recipient is None:
        recipient = article["aut_id"]
        if comment.parent_id is not None:
            parent = await CommentRepository.from_session(session).get(comment.parent_id)
            recipient = parent.user_id if parent is not None else recipient
    await notify_after_commit(
        runtime,
        session,
        COMMENT,
        actor_id=comment.user_id,
        recipient_id=recipient,
        article={"art_id": article["art_id"], "title": article["title"]},
    )


async def _count_fan_comment(
    runtime: Runtime, session: AsyncSession, user_id: int, article: dict[str, Any]
) -> None:
    """``fans_comment_count`` counts comments by followers of the author at the time of
    commenting (mp.md §7.7), so it is decided now."""
    author = article["aut_id"]
    if user_id == author:
        return
    relation = (await relation_service.relations_of(runtime, session, user_id, [author]))[author]
    if relation == Relation.FOLLOW:
        await CommentRepository.from_session(session).add_fans_comments(article["art_id"], 1)


async def _new_item(
    runtime: Runtime, session: AsyncSession, body: dict[str, Any]
) -> dict[str, Any]:
    profile = await user_cache.get_profile(runtime.cache, session, body["aut_id"]) or {}
    photo = profile.get("photo")
    return {
        "com_id": body["com_id"],
        "aut_id": body["aut_id"],
        "aut_name": profile.get("name", ""),
        "aut_photo": runtime.storage.url(photo) if photo else None,
        "like_count": 0,
        "reply_count": 0,
        "pubdate": body["pubdate"],
        "content": body["content"],
        "is_top": body["is_top"],
        "is_liking": False,
    }


def _after_create(runtime: Runtime, session: AsyncSession, body: dict[str, Any]) -> None:
    async def counters_and_caches() -> None:
        try:
            async with runtime.store.pipeline(transaction=False) as pipe:
                c.ARTICLE_COMMENTS.queue(pipe, body["art_id"], 1)
                if body["parent_id"] is not None:
                    c.COMMENT_REPLIES.queue(pipe, body["parent_id"], 1)
                activity.queue_count(pipe, StatisticsType.COMMENT)
                await pipe.execute()
        except RedisError:
            log.error("comment.counters_failed com_id=%s", body["com_id"], exc_info=True)
        try:
            await cc.put_body(runtime.cache, body)
            await cc.add_to_list(runtime.cache, cc.list_key_of(body), body["com_id"])
        except RedisError:
            log.error("comment.cache_update_failed com_id=%s", body["com_id"], exc_info=True)

    on_commit(session, counters_and_caches)


# -- E49 / E50 likes ----------------------------------------------------------------------


async def like(runtime: Runtime, session: AsyncSession, user_id: int, comment_id: int) -> bool:
    """Like an approved comment; True if a row changed (idempotent: False on a repeat)."""
    body = await cc.get_body(runtime.cache, session, comment_id)
    if body is None:
        raise BadRequest("target: no such comment")
    await ensure_may_interact(runtime, session, user_id, [body["aut_id"]])
    await lock_user(session, user_id)
    try:
        async with session.begin_nested():
            session.add(CommentLiking(user_id=user_id, comment_id=comment_id, is_deleted=False))
        changed = True
    except IntegrityError:  # a row exists: re-activate it if it was withdrawn
        result = await session.execute(
            update(CommentLiking)
            .where(
                CommentLiking.user_id == user_id,
                CommentLiking.comment_id == comment_id,
                CommentLiking.is_deleted.is_(True),
            )
            .values(is_deleted=False, update_time=local_now())
            .execution_options(synchronize_session=False)
        )
        changed = result.rowcount == 1
    if changed:
        _after_like(runtime, session, user_id, comment_id, +1)
    return changed


async def unlike(runtime: Runtime, session: AsyncSession, user_id: int, comment_id: int) -> bool:
    """Withdraw a like; True if a row changed (idempotent, unknown comments included)."""
    await lock_user(session, user_id)
    result = await session.execute(
        update(CommentLiking)
        .where(
            CommentLiking.user_id == user_id,
            CommentLiking.comment_id == comment_id,
            CommentLiking.is_deleted.is_(False),
        )
        .values(is_deleted=True, update_time=local_now())
        .execution_options(synchronize_session=False)
    )
    changed = result.rowcount == 1
    if changed:
        _after_like(runtime, session, user_id, comment_id, -1)
    return changed


def _after_like(
    runtime: Runtime, session: AsyncSession, user_id: int, comment_id: int, delta: int
) -> None:
    async def counter_and_cache() -> None:
        try:
            await c.COMMENT_LIKES.incr(runtime.store, comment_id, delta)
        except RedisError:
            log.error("comment.counters_failed com_id=%s", comment_id, exc_info=True)
        await cc.forget_liked(runtime.cache, user_id, comment_id)

    on_commit(session, counter_and_cache)
