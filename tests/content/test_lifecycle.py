"""The lifecycle's transitions called as /mis will call them (no HTTP), and the after-commit
work: counters, caches, the index queue, the outbox and its retry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.worker.helpers import on_a_broker
from toutiao.article import cache as article_cache
from toutiao.content import lifecycle, sync
from toutiao.content.authoring import ArticleInput
from toutiao.content.policy import Actor
from toutiao.kit.db import commit
from toutiao.kit.errors import BadRequest, Conflict, NotFound
from toutiao.models import Article, ArticleOutbox
from toutiao.models.enums import ArticleStatus
from toutiao.stats import counters as c

S = ArticleStatus
STAFF = Actor.staff(7)


@pytest.fixture
async def desk(factory, runtime):
    (channel,) = await factory.channels(["科技"])
    author = await factory.user(is_media=True)
    return {"channel": channel.channel_id, "author": author.user_id}


def text(channel_id: int, title: str = "一篇测试文章的标题") -> ArticleInput:
    return ArticleInput(title, "<p>正文</p>", 0, [], channel_id)


async def run(runtime, action, *args, **kwargs):
    async with runtime.db.session() as session:
        result = await action(runtime, session, *args, **kwargs)
        await commit(session)
    return result


async def submitted(runtime, desk, count: int = 1) -> list[int]:
    actor = Actor.author(desk["author"])
    return [
        (await run(runtime, lifecycle.submit, actor, text(desk["channel"]))).article_id
        for _ in range(count)
    ]


async def statuses(runtime, ids) -> list[ArticleStatus]:
    async with runtime.db.session() as session:
        rows = {
            a.article_id: a
            for a in await session.scalars(select(Article).where(Article.article_id.in_(ids)))
        }
    return [rows[i].status for i in ids]


async def outbox_size(runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ArticleOutbox)))


class TestReview:
    async def test_approve_then_ban_then_unban(self, runtime, desk):
        ids = await submitted(runtime, desk, 2)
        assert await run(runtime, lifecycle.approve, ids, STAFF) == 2
        assert await statuses(runtime, ids) == [S.APPROVED, S.APPROVED]
        assert await c.USER_ARTICLES.get(runtime.store, desk["author"]) == 2
        async with runtime.db.session() as session:
            article = await session.get(Article, ids[0])
        assert article.reviewer_id == 7 and article.pubdate is not None
        first_pubdate = article.pubdate
        assert await run(runtime, lifecycle.ban, ids[:1], STAFF, reason="违规") == 1
        assert await c.USER_ARTICLES.get(runtime.store, desk["author"]) == 1
        assert await run(runtime, lifecycle.unban, ids[:1], STAFF) == 1
        async with runtime.db.session() as session:
            article = await session.get(Article, ids[0])
        assert article.status == S.APPROVED and article.reject_reason is None
        assert article.pubdate == first_pubdate
        assert await outbox_size(runtime) == 0

    async def test_reject_with_and_without_reason(self, runtime, desk):
        ids = await submitted(runtime, desk, 2)
        await run(runtime, lifecycle.reject, ids[:1], STAFF, reason="  标题党  ")
        await run(runtime, lifecycle.reject, ids[1:], STAFF, reason=None)
        async with runtime.db.session() as session:
            reasons = [(await session.get(Article, i)).reject_reason for i in ids]
        assert reasons == ["标题党", lifecycle.DEFAULT_REJECT_REASON]
        with pytest.raises(BadRequest):
            await run(runtime, lifecycle.reject, ids, STAFF, reason="x" * 201)

    async def test_all_or_nothing(self, runtime, desk):
        ids = await submitted(runtime, desk, 2)
        await run(runtime, lifecycle.approve, ids[:1], STAFF)
        with pytest.raises(Conflict, match=str(ids[0])):
            await run(runtime, lifecycle.approve, ids, STAFF)
        assert await statuses(runtime, ids) == [S.APPROVED, S.PENDING]
        with pytest.raises(BadRequest, match="123"):
            await run(runtime, lifecycle.approve, [ids[1], 123], STAFF)
        with pytest.raises(BadRequest):
            await run(runtime, lifecycle.approve, [], STAFF)
        with pytest.raises(BadRequest):
            await run(runtime, lifecycle.approve, list(range(1, 102)), STAFF)
        assert await statuses(runtime, ids) == [S.APPROVED, S.PENDING]

    async def test_authors_cannot_review_or_touch_others(self, runtime, desk, factory):
        ids = await submitted(runtime, desk)
        with pytest.raises(NotFound):
            await run(runtime, lifecycle.approve, ids, Actor.author(desk["author"]))
        stranger = Actor.author((await factory.user()).user_id)
        with pytest.raises(NotFound):
            await run(runtime, lifecycle.delete, ids, stranger)
        with pytest.raises(NotFound):
            await run(runtime, lifecycle.withdraw, ids, stranger)

    async def test_delete_skips_deleted_and_staff_may_delete_banned(self, runtime, desk):
        ids = await submitted(runtime, desk, 2)
        await run(runtime, lifecycle.approve, ids, STAFF)
        await run(runtime, lifecycle.ban, ids[:1], STAFF)
        assert await run(runtime, lifecycle.delete, ids, STAFF) == 2
        assert await run(runtime, lifecycle.delete, ids, STAFF) == 0
        assert await c.USER_ARTICLES.get(runtime.store, desk["author"]) == 0

    async def test_withdraw_back_to_draft(self, runtime, desk):
        ids = await submitted(runtime, desk)
        await run(runtime, lifecycle.approve, ids, STAFF)
        assert await run(runtime, lifecycle.withdraw, ids, Actor.author(desk["author"])) == 1
        assert await statuses(runtime, ids) == [S.DRAFT]
        with pytest.raises(Conflict):
            await run(runtime, lifecycle.withdraw, ids, STAFF)


class TestAfterCommit:
    async def test_approval_reaches_queue_counter_and_cards(self, runtime, desk):
        (article_id,) = await submitted(runtime, desk)
        async with runtime.db.session() as session:
            assert await article_cache.get_card(runtime.cache, session, article_id) is None
        async with on_a_broker(runtime) as queued:
            await run(runtime, lifecycle.approve, [article_id], STAFF)
            assert ("search.index", [[article_id]]) in await queued("search")
        async with runtime.db.session() as session:  # the cached "absent" was dropped
            assert (await article_cache.get_card(runtime.cache, session, article_id))[
                "art_id"
            ] == article_id

    async def test_a_failed_step_is_retried_by_the_sweep(self, runtime, desk, monkeypatch):
        (article_id,) = await submitted(runtime, desk)

        async def broken(*_args):
            raise ConnectionError("index queue unavailable")

        monkeypatch.setattr(sync, "to_search_queue", broken)
        await run(runtime, lifecycle.approve, [article_id], STAFF)  # committed all the same
        assert await statuses(runtime, [article_id]) == [S.APPROVED]
        assert await outbox_size(runtime) == 1
        assert await sync.sweep(runtime, older_than=timedelta(0)) == 0
        async with runtime.db.session() as session:
            assert await session.scalar(select(ArticleOutbox.attempts)) == 1
        monkeypatch.undo()
        await runtime.store.zrem(c.USER_ARTICLES.key, str(desk["author"]))
        async with on_a_broker(runtime) as queued:
            assert await sync.sweep(runtime, older_than=timedelta(0)) == 1
            assert ("search.index", [[article_id]]) in await queued("search")
        assert await outbox_size(runtime) == 0
        assert await c.USER_ARTICLES.get(runtime.store, desk["author"]) == 1

    async def test_author_recounts_are_serialised(self, runtime, desk, monkeypatch):
        """An author's counter is recounted and written under that author's lock: while another
        settle holds it, this one waits, then gives up and leaves the row to the sweep."""
        (article_id,) = await submitted(runtime, desk)
        monkeypatch.setattr(sync, "COUNT_LOCK_WAIT", 0.2)
        other = runtime.store.lock(sync.count_lock_key(desk["author"]), timeout=30)
        assert await other.acquire()
        try:
            await run(runtime, lifecycle.approve, [article_id], STAFF)
            assert await outbox_size(runtime) == 1
            assert await c.USER_ARTICLES.get(runtime.store, desk["author"]) == 0
        finally:
            await other.release()
        assert await sync.sweep(runtime, older_than=timedelta(0)) == 1
        assert await c.USER_ARTICLES.get(runtime.store, desk["author"]) == 1

    async def test_young_rows_are_left_to_their_request(self, runtime, desk, monkeypatch):
        async def broken(*_args):
            raise ConnectionError("down")

        monkeypatch.setattr(sync, "to_search_queue", broken)
        await submitted(runtime, desk)
        monkeypatch.undo()
        assert await sync.sweep(runtime) == 0  # younger than the sweep's delay
        assert await outbox_size(runtime) == 1

    async def test_rolled_back_change_leaves_nothing(self, runtime, desk):
        ids = await submitted(runtime, desk)
        async with runtime.db.session() as session:
            await lifecycle.approve(runtime, session, ids, STAFF)
            await session.rollback()
        assert await statuses(runtime, ids) == [S.PENDING]
        assert await outbox_size(runtime) == 0


async def test_sweep_job_runs_one_at_a_time(runtime, desk, monkeypatch):
    from toutiao.content import tasks

    async def broken(*_args):
        raise ConnectionError("down")

    monkeypatch.setattr(sync, "to_search_queue", broken)
    await submitted(runtime, desk)
    monkeypatch.undo()
    monkeypatch.setattr(sync, "SWEEP_AFTER", timedelta(0))
    lock = runtime.store.lock(tasks.LOCK_KEY, timeout=10)
    assert await lock.acquire(blocking=False)
    assert await tasks.sweep_job(runtime) == 0  # another process is sweeping
    await lock.release()
    assert await tasks.sweep_job(runtime) == 1
    assert await outbox_size(runtime) == 0


async def test_other_processes_drop_their_in_process_copies(runtime, desk):
    """A change reaches every process's in-process cards and bodies through the broadcast."""
    from toutiao.kit import broadcast
    from toutiao.kit.broadcast import Broadcast

    (article_id,) = await submitted(runtime, desk)
    await run(runtime, lifecycle.approve, [article_id], STAFF)
    async with runtime.db.session() as session:
        assert await article_cache.get_card(runtime.cache, session, article_id) is not None
    article_cache.remember_body(article_id, "<p>cached</p>")
    other = Broadcast(runtime.cache)  # stands for another process's listener
    other.start()
    try:
        await asyncio.wait_for(other.subscribed.wait(), 5)
        article_cache._l1_cards[article_id] = article_cache.entry_of(
            f'{{"art_id": {article_id}}}'  # as another worker holds it
        )
        article_cache.remember_body(article_id, "<p>cached</p>")
        await runtime.cache.publish(
            broadcast.CHANNEL, f"{article_cache.BROADCAST_TOPIC}:{article_id}"
        )
        for _ in range(250):
            if article_id not in article_cache._l1_cards:
                break
            await asyncio.sleep(0.02)
        assert article_id not in article_cache._l1_cards
        assert article_cache.body_from_l1(article_id) is None
    finally:
        await other.close()


async def test_settling_publishes_the_drop(runtime, desk, monkeypatch):
    published: list[tuple[str, str]] = []
    real = runtime.broadcast.publish

    async def spy(topic: str, key: str) -> None:
        published.append((topic, key))
        await real(topic, key)

    monkeypatch.setattr(runtime.broadcast, "publish", spy)
    (article_id,) = await submitted(runtime, desk)
    assert (article_cache.BROADCAST_TOPIC, str(article_id)) in published
