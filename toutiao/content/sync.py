"""After an article's state changed: bring the rest of the platform in line, with nothing lost.

Every transition writes an outbox row (``news_article_outbox``) in its own transaction and,
after the commit, calls :func:`settle`. Settling reads the articles' *current* rows and makes
everything derived from them agree, so it can run any number of times, in any order:

- the search index, through the index queue (approved articles enter or change, any other
  leaves), so a slow search engine never slows the request;
- the similar-articles index, the same way (``recommend.similar_sync``);
- the article caches (card, body; in Redis and, by a broadcast, in every process) and the
  recommenders' catalog (metadata, recent lists):
  feeds, pinned lists and readers' queued batches drop an article whose card is gone;
- the author's approved-article counter (recounted in SQL, not incremented, so a retry
  cannot count twice; under a per-author lock, so an older recount never lands last) and
  the author's cached list (E36/E37);
- the collection lists of everyone who collected it (E38); reading histories (E39) are
  filtered through the cards already.

The outbox row is deleted once all of that succeeded. If any step fails (Redis or the index
queue down), the row stays and :func:`sweep`, run by the scheduler every half minute, settles
it again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from toutiao.article.cache import BROADCAST_TOPIC, article_changed
from toutiao.article.collection import queue_forget_collections
from toutiao.article.lists import forget_user_articles
from toutiao.content import repository
from toutiao.kit.db import commit
from toutiao.models.base import local_now
from toutiao.recommend.tasks import enqueue_similar_sync
from toutiao.runtime import Runtime
from toutiao.search import tasks as search_tasks
from toutiao.stats import counters as c

log = logging.getLogger("toutiao.content.sync")

SWEEP_AFTER = timedelta(seconds=20)  # younger rows are still being settled by their request
SWEEP_BATCH = 200
CHUNK = 500


async def to_search_queue(runtime: Runtime, article_ids: Sequence[int]) -> None:
    """The one way content changes reach the search index (the queue re-reads each article)."""
    await search_tasks.enqueue_index(runtime, *article_ids)


COUNT_LOCK_SECONDS = 10  # a settle holding an author's count lock longer has died
COUNT_LOCK_WAIT = 5.0  # then the outbox row stays and the sweep settles it later


def count_lock_key(author_id: int) -> str:
    return f"lock:count:user:arts:{author_id}"


async def _authors_and_collectors(
    runtime: Runtime, article_ids: Sequence[int]
) -> tuple[list[int], list[int]]:
    async with runtime.db.primary_read_session() as session:
        authors = await repository.authors_of(session, article_ids)
        collectors = await repository.collectors(session, article_ids)
    return sorted(set(authors.values())), collectors


async def _recount_authors(runtime: Runtime, authors: Sequence[int]) -> None:
    """Each author's approved-article counter, recounted under a per-author lock: two settles
    of one author serialise their count and write, so an older count never overwrites a
    newer one (both read after their own commit; the lock orders the reads with the writes)."""
    for author in authors:
        async with runtime.store.lock(
            count_lock_key(author), timeout=COUNT_LOCK_SECONDS, blocking_timeout=COUNT_LOCK_WAIT
        ):
            async with runtime.db.primary_read_session() as session:
                count = (await repository.approved_counts(session, [author]))[author]
            c.USER_ARTICLES.touch(author)
            if count:
                await runtime.store.zadd(c.USER_ARTICLES.key, {str(author): count})
            else:
                await runtime.store.zrem(c.USER_ARTICLES.key, str(author))


async def _forget_collections(
    runtime: Runtime, collectors: list[int], article_ids: list[int]
) -> None:
    for start in range(0, len(collectors), CHUNK):
        async with runtime.store.pipeline(transaction=False) as pipe:
            queue_forget_collections(pipe, collectors[start : start + CHUNK], article_ids)
            await pipe.execute()


async def settle(runtime: Runtime, article_ids: Sequence[int], outbox_ids: Sequence[int]) -> None:
    """Make the platform agree with these articles' rows; raises if a step failed (the
    outbox rows then stay for :func:`sweep`)."""
    ids = list(dict.fromkeys(article_ids))
    if ids:
        authors, collectors = await _authors_and_collectors(runtime, ids)
        await to_search_queue(runtime, ids)
        await enqueue_similar_sync(runtime, *ids)
        await article_changed(runtime.cache, runtime.store, *ids)
        if runtime.broadcast is not None:  # the other processes' in-process cards and bodies
            await runtime.broadcast.publish(BROADCAST_TOPIC, ",".join(map(str, ids)))
        await _recount_authors(runtime, authors)
        await _forget_collections(runtime, collectors, ids)
        await forget_user_articles(runtime.cache, *authors)
    if outbox_ids:
        async with runtime.db.session() as session:
            await repository.clear_outbox(session, outbox_ids)
            await commit(session)


async def sweep(
    runtime: Runtime, *, older_than: timedelta | None = None, limit: int = SWEEP_BATCH
) -> int:
    """Settle the changes a failed after-commit step left behind (rows older than
    ``older_than``, default ``SWEEP_AFTER``); how many were settled."""
    before = local_now() - (SWEEP_AFTER if older_than is None else older_than)
    async with runtime.db.primary_read_session() as session:
        waiting = await repository.stale_outbox(session, before, limit)
    if not waiting:
        return 0
    outbox_ids = [i for i, _ in waiting]
    try:
        await settle(runtime, [a for _, a in waiting], outbox_ids)
    except Exception as exc:  # noqa: BLE001 - retried on the next sweep; attempts counts them
        log.warning("content.sweep_failed rows=%d error=%r", len(waiting), exc)
        async with runtime.db.session() as session:
            await repository.count_attempt(session, outbox_ids)
            await commit(session)
        return 0
    log.info("content.swept rows=%d", len(waiting))
    return len(waiting)
