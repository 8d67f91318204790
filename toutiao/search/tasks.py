"""Article changes reach the search index in the background, through the task tier.

Writers (mp when an author edits or withdraws, mis when staff approve, ban or delete) call
:func:`index_after_commit` / :func:`remove_after_commit`: once their transaction commits, a
``search.index`` / ``search.remove`` task is sent (Celery, ``toutiao.worker``), so a slow or
absent search engine never slows a request. A broker that is down at that moment leaves the
message in the task outbox (nothing is lost); a failing index write is retried with backoff.
"index" re-reads the articles, so any number of repeats, in any order, ends in the database's
current state; ``toutiao search reindex`` rebuilds everything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.db import on_commit
from toutiao.runtime import Runtime
from toutiao.search import indexer
from toutiao.search.service import engine_of

log = logging.getLogger("toutiao.search.tasks")

INDEX_TASK = "search.index"
REMOVE_TASK = "search.remove"


async def enqueue_index(runtime: Runtime, *article_ids: int) -> None:
    """(Re)index these articles: approved ones enter or change, any other leaves."""
    if article_ids:
        await runtime.tasks.send(INDEX_TASK, list(article_ids))


async def enqueue_remove(runtime: Runtime, *article_ids: int) -> None:
    """Take these articles out of the index (deleted)."""
    if article_ids:
        await runtime.tasks.send(REMOVE_TASK, list(article_ids))


def index_after_commit(session: AsyncSession, runtime: Runtime, *article_ids: int) -> None:
    """For services: enqueue once the transaction commits, never if it rolls back."""
    on_commit(session, lambda: enqueue_index(runtime, *article_ids))


def remove_after_commit(session: AsyncSession, runtime: Runtime, *article_ids: int) -> None:
    on_commit(session, lambda: enqueue_remove(runtime, *article_ids))


async def index_articles(runtime: Runtime, article_ids: Sequence[int]) -> None:
    """The ``search.index`` task: bring these articles' index entries to the database's state."""
    await indexer.sync_articles(runtime, [int(a) for a in article_ids])
    log.debug("search.indexed articles=%d", len(article_ids))


async def remove_articles(runtime: Runtime, article_ids: Sequence[int]) -> None:
    """The ``search.remove`` task."""
    await engine_of(runtime).delete([int(a) for a in article_ids])
