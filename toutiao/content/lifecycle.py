"""The article lifecycle: one function per transition, shared by every surface.

States (``ArticleStatus``): 0 draft, 1 pending review, 2 approved, 3 rejected, 4 deleted,
5 banned. Authors save drafts, submit, withdraw and delete their own articles (mp); staff
approve, reject, ban, unban and delete any (mis). The rules of who may move what from where
are in ``content.policy``.

How a surface calls a transition (no HTTP involved)::

    from toutiao.content import lifecycle
    from toutiao.content.policy import Actor
    from toutiao.kit.db import commit

    async with runtime.db.session() as session:
        moved = await lifecycle.reject(
            runtime, session, [article_id, ...], Actor.staff(admin_id), reason="..."
        )
        await commit(session)  # kit.db.commit: commits, then runs the after-commit work

Each function changes the rows in the caller's transaction (a conditional update on the
expected status: of two concurrent reviewers one gets 409) and writes an outbox row. The
caller commits with ``kit.db.commit`` (the request session of the API does); after the commit
``content.sync.settle`` brings search, caches, counters, lists and feeds in line, and a failed
step is retried by ``content.sync.sweep``. Batches are all-or-nothing: an unknown id is a 400
(a 404 for an author, who must not learn that another author's id exists), an article the move
does not allow is a 409 naming it, and then nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.content import policy, repository, sync
from toutiao.content.authoring import ArticleInput, Saved, write_article
from toutiao.content.policy import Actor, Move
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Conflict, NotFound
from toutiao.models import Article
from toutiao.models.base import local_now
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime

S = ArticleStatus
audit = logging.getLogger("toutiao.audit")

MAX_BATCH = 100
MAX_REASON = 200
DEFAULT_REJECT_REASON = "系统审核"  # what the original stored when staff gave no reason

__all__ = [
    "DEFAULT_REJECT_REASON",
    "ArticleInput",
    "Saved",
    "approve",
    "ban",
    "delete",
    "save_draft",
    "set_comments",
    "submit",
    "unban",
    "withdraw",
]


async def after_change(runtime: Runtime, session: AsyncSession, article_ids: Sequence[int]) -> None:
    """Record the change in the outbox; settle it once the caller's transaction commits."""
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        return
    outbox_ids = await repository.add_outbox(session, ids)
    on_commit(session, lambda: sync.settle(runtime, ids, outbox_ids))


def record(actor: Actor, event: str, article_ids: Sequence[int], reason: str | None = None) -> None:
    """The audit trail of writes: who did what to which articles."""
    audit.info(
        "article.%s actor=%s:%d articles=%s%s",
        event,
        actor.kind.value,
        actor.id,
        ",".join(map(str, article_ids)),
        f" reason={reason!r}" if reason else "",
    )


# -- writing an article (authors) -------------------------------------------------------------


async def save_draft(
    runtime: Runtime,
    session: AsyncSession,
    actor: Actor,
    data: ArticleInput,
    article_id: int | None = None,
) -> Saved:
    """Create (``article_id`` None) or replace an article as a draft (0): an approved one
    leaves the app."""
    saved = await write_article(runtime, session, actor, data, article_id, submit=False)
    await after_change(runtime, session, [saved.article_id])
    record(actor, "create" if article_id is None else "update", [saved.article_id])
    return saved


async def submit(
    runtime: Runtime,
    session: AsyncSession,
    actor: Actor,
    data: ArticleInput,
    article_id: int | None = None,
) -> Saved:
    """Create or replace an article and submit it: pending review (1), or approved (2) with
    ``TOUTIAO_MP_AUTO_APPROVE`` unless its sensitive words hold it for a person."""
    saved = await write_article(runtime, session, actor, data, article_id, submit=True)
    await after_change(runtime, session, [saved.article_id])
    record(actor, "create" if article_id is None else "update", [saved.article_id])
    return saved


async def set_comments(
    runtime: Runtime, session: AsyncSession, actor: Actor, article_id: int, allow: bool
) -> None:
    """Allow or forbid new comments on an article that is not deleted."""
    article = policy.visible_to(actor, await repository.get_article(session, article_id, lock=True))
    if article.status == S.DELETED:
        raise BadRequest("Comments of a deleted article cannot be switched.")
    if article.allow_comment != allow:
        article.allow_comment = allow
        await after_change(runtime, session, [article_id])
    record(actor, "comments_on" if allow else "comments_off", [article_id])


# -- status moves (authors and staff, batches of up to 100) ---------------------------------


def _batch(article_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(article_ids))
    if not 1 <= len(ids) <= MAX_BATCH:
        raise BadRequest(f"article_ids: between 1 and {MAX_BATCH} ids")
    return ids


async def _rows(session: AsyncSession, actor: Actor, ids: list[int]) -> list[Article]:
    rows = await repository.lock_articles(session, ids)
    found = {row.article_id for row in rows}
    missing = [i for i in ids if i not in found]
    if missing and actor.is_staff:
        raise BadRequest("Unknown article ids: " + ", ".join(map(str, missing)))
    if missing:
        raise NotFound("Article not found.")
    for row in rows:
        policy.visible_to(actor, row)
    return rows


async def _move(
    runtime: Runtime,
    session: AsyncSession,
    actor: Actor,
    article_ids: Sequence[int],
    move: Move,
    values: dict[str, Any],
    *,
    skip: frozenset[ArticleStatus] = frozenset(),
    reason: str | None = None,
) -> int:
    """Move every listed article or none; how many moved (``skip``: already there, left)."""
    policy.allowed_for(actor, move)
    rows = await _rows(session, actor, _batch(article_ids))
    todo = [row for row in rows if row.status not in skip]
    refused = policy.blocked(todo, move)
    if refused:
        first = refused[0]
        raise Conflict(
            f"Article {first.article_id} ({first.title}) cannot {move.name} "
            f"from status {int(first.status)}."
        )
    ids = [row.article_id for row in todo]
    if not ids:
        return 0
    moved = await repository.move_status(session, ids, move.sources, values)
    if moved != len(ids):  # changed by someone else since we read it
        raise Conflict("The articles changed meanwhile; nothing was done.")
    await after_change(runtime, session, ids)
    record(actor, move.name, ids, reason)
    return moved


def _reviewed(actor: Actor) -> dict[str, Any]:
    return {"reviewer_id": actor.id, "review_time": local_now()} if actor.is_staff else {}


def _reason(reason: str | None) -> str | None:
    text = (reason or "").strip()
    if len(text) > MAX_REASON:
        raise BadRequest(f"reject_reason: at most {MAX_REASON} characters")
    return text or None


async def approve(
    runtime: Runtime, session: AsyncSession, article_ids: Sequence[int], actor: Actor
) -> int:
    """Pending -> approved: it enters search, feeds and the author's lists."""
    now = local_now()
    values = {"status": S.APPROVED, "pubdate": now, "reject_reason": None, **_reviewed(actor)}
    return await _move(runtime, session, actor, article_ids, policy.APPROVE, values)


async def reject(
    runtime: Runtime,
    session: AsyncSession,
    article_ids: Sequence[int],
    actor: Actor,
    reason: str | None = None,
) -> int:
    """Pending -> rejected, with the reason shown to the author (a default when blank)."""
    text = _reason(reason) or DEFAULT_REJECT_REASON
    values = {"status": S.REJECTED, "reject_reason": text, **_reviewed(actor)}
    return await _move(runtime, session, actor, article_ids, policy.REJECT, values, reason=text)


async def ban(
    runtime: Runtime,
    session: AsyncSession,
    article_ids: Sequence[int],
    actor: Actor,
    reason: str | None = None,
) -> int:
    """Approved -> banned: it leaves the app everywhere; the author sees "review failed"."""
    text = _reason(reason)
    values = {"status": S.BANNED, "reject_reason": text, **_reviewed(actor)}
    return await _move(runtime, session, actor, article_ids, policy.BAN, values, reason=text)


async def unban(
    runtime: Runtime, session: AsyncSession, article_ids: Sequence[int], actor: Actor
) -> int:
    """Banned -> approved again, at its old publication time."""
    values = {
        "status": S.APPROVED,
        "reject_reason": None,
        "pubdate": func.coalesce(Article.pubdate, local_now()),
        **_reviewed(actor),
    }
    return await _move(runtime, session, actor, article_ids, policy.UNBAN, values)


async def withdraw(
    runtime: Runtime, session: AsyncSession, article_ids: Sequence[int], actor: Actor
) -> int:
    """Approved -> draft without an edit: the article leaves the app, the author keeps it."""
    values = {"status": S.DRAFT, **_reviewed(actor)}
    return await _move(runtime, session, actor, article_ids, policy.WITHDRAW, values)


async def delete(
    runtime: Runtime, session: AsyncSession, article_ids: Sequence[int], actor: Actor
) -> int:
    """Soft delete (4), final for authors; already deleted ones are left alone (idempotent)."""
    values = {"status": S.DELETED, "delete_time": local_now(), **_reviewed(actor)}
    return await _move(
        runtime, session, actor, article_ids, policy.DELETE, values, skip=frozenset({S.DELETED})
    )
