"""Comment moderation over HTTP (mp.md §6.7, §8.2 item 8): list, pin, delete, counters."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.api.mp.conftest import assert_error
from toutiao.models import ArticleStatistic, Comment
from toutiao.models.enums import CommentStatus
from toutiao.stats import counters as c
from toutiao.stats.service import rebuild_counters

COMMENTS = "/mp/v1_0/comments"
APP_COMMENTS = "/app/v1_0/comments"


async def comment(client, headers, target: int, content: str = "hi", **extra: Any) -> int:
    response = await client.post(
        APP_COMMENTS, json={"target": target, "content": content, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]["com_id"]


async def counter(runtime, which: c.Counter, member: int) -> int:
    return await which.get(runtime.store, member)


async def fans_comments(runtime, article_id: int) -> int:
    async with runtime.db.session() as session:
        row = await session.get(ArticleStatistic, article_id)
    return row.fans_comment_count if row else 0


async def assert_counters_match_the_database(runtime) -> None:
    keys = (c.ARTICLE_COMMENTS, c.COMMENT_REPLIES)
    live = {k.key: await runtime.store.zrange(k.key, 0, -1, withscores=True) for k in keys}
    live = {key: {m: s for m, s in pairs if s} for key, pairs in live.items()}
    async with runtime.db.session() as session:
        await rebuild_counters(session, runtime.store, only=keys)
    rebuilt = {k.key: dict(await runtime.store.zrange(k.key, 0, -1, withscores=True)) for k in keys}
    assert live == rebuilt


@pytest.fixture
async def world(factory) -> dict[str, Any]:
    author = await factory.user(name="author")
    fan = await factory.user(name="fan")
    reader = await factory.user(name="reader")
    other = await factory.user(name="other")
    [channel] = await factory.channels(["tech"])
    article = await factory.article(author.user_id, channel.channel_id, title="mine")
    theirs = await factory.article(other.user_id, channel.channel_id, title="theirs")
    return {
        "author": factory.headers(author.user_id),
        "fan": factory.headers(fan.user_id),
        "reader": factory.headers(reader.user_id),
        "other": factory.headers(other.user_id),
        "ids": {"author": author.user_id, "fan": fan.user_id, "reader": reader.user_id},
        "article": article,
        "theirs": theirs,
    }


class TestList:
    async def test_pinned_first_then_newest(self, client, world):
        first = await comment(client, world["reader"], world["article"], "first")
        second = await comment(client, world["fan"], world["article"], "second")
        await comment(client, world["reader"], first, "a reply", art_id=world["article"])
        put = await client.put(
            f"{COMMENTS}/{first}/sticky", json={"sticky": True}, headers=world["author"]
        )
        assert put.status_code == 201
        response = await client.get(
            COMMENTS, params={"article_id": world["article"]}, headers=world["author"]
        )
        assert response.status_code == 200
        data = response.json()["data"]
        assert (data["total_count"], data["page"], data["per_page"]) == (2, 1, 10)
        assert [i["id"] for i in data["results"]] == [first, second]
        item = data["results"][0]
        assert item["is_top"] is True and item["reply_count"] == 1 and item["like_count"] == 0
        assert (
            item["content"] == "first" and len(item["pubdate"]) == 19 and "T" not in item["pubdate"]
        )
        assert item["user"] == {"id": world["ids"]["reader"], "name": "reader", "photo": ""}
        paged = await client.get(
            COMMENTS,
            params={"article_id": world["article"], "page": 2, "per_page": 1},
            headers=world["author"],
        )
        assert [i["id"] for i in paged.json()["data"]["results"]] == [second]

    async def test_another_authors_article_or_none(self, client, world):
        await comment(client, world["reader"], world["theirs"])
        for article_id in (world["theirs"], 123456789):
            params = {"article_id": article_id}
            assert_error(await client.get(COMMENTS, params=params, headers=world["author"]), 404)

    @pytest.mark.parametrize(
        "params", [{}, {"article_id": "x"}, {"article_id": 1, "per_page": 101}, {"type": "z"}]
    )
    async def test_bad_parameters(self, client, world, params):
        assert_error(await client.get(COMMENTS, params=params, headers=world["author"]), 400)

    async def test_needs_a_token(self, client, world):
        assert_error(await client.get(COMMENTS, params={"article_id": world["article"]}), 401)

    async def test_original_form_with_type(self, client, world):
        first = await comment(client, world["reader"], world["article"], "first")
        response = await client.get(
            COMMENTS, params={"type": "a", "source": world["article"]}, headers=world["author"]
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["art_id"] == world["article"] and data["art_title"] == "mine"
        assert " " in data["art_pubdate"]
        assert [i["com_id"] for i in data["results"]] == [first]
        assert data["results"][0]["is_liking"] == 0 and type(data["results"][0]["is_liking"]) is int
        assert data["end_id"] == first and data["last_id"] == first
        assert "page" not in data and "per_page" not in data
        assert_error(await client.get(COMMENTS, params={"type": "a"}, headers=world["author"]), 400)


class TestSticky:
    async def test_pin_and_unpin_show_in_the_app(self, client, world):
        target = await comment(client, world["reader"], world["article"])
        before = await client.get(APP_COMMENTS, params={"type": "a", "source": world["article"]})
        assert before.json()["data"]["results"][0]["is_top"] == 0  # now cached
        for sticky in (True, False, True):
            response = await client.put(
                f"{COMMENTS}/{target}/sticky", json={"sticky": sticky}, headers=world["author"]
            )
            assert response.status_code == 201
            assert response.json()["data"] == {"target": target, "sticky": sticky}
        after = await client.get(APP_COMMENTS, params={"type": "a", "source": world["article"]})
        assert after.json()["data"]["results"][0]["is_top"] == 1

    async def test_not_the_articles_author(self, client, world):
        target = await comment(client, world["reader"], world["theirs"])
        url = f"{COMMENTS}/{target}/sticky"
        assert_error(await client.put(url, json={"sticky": True}, headers=world["author"]), 404)
        assert_error(await client.put(url, json={"sticky": True}, headers=world["reader"]), 404)
        assert (
            await client.put(url, json={"sticky": True}, headers=world["other"])
        ).status_code == 201

    @pytest.mark.parametrize("body", [{}, {"sticky": "yes"}, {"sticky": 1}])
    async def test_bad_body(self, client, world, body):
        target = await comment(client, world["reader"], world["article"])
        url = f"{COMMENTS}/{target}/sticky"
        assert_error(await client.put(url, json=body, headers=world["author"]), 400)

    async def test_missing_or_deleted_comment(self, client, world):
        target = await comment(client, world["reader"], world["article"])
        await client.delete(f"{COMMENTS}/{target}", headers=world["author"])
        for comment_id in (target, 987654321):
            url = f"{COMMENTS}/{comment_id}/sticky"
            assert_error(await client.put(url, json={"sticky": True}, headers=world["author"]), 404)
        assert_error(
            await client.put(
                f"{COMMENTS}/abc/sticky", json={"sticky": True}, headers=world["author"]
            ),
            404,
        )


class TestDelete:
    async def test_comment_and_its_replies_leave_counters_right(self, client, runtime, world):
        article = world["article"]
        keep = await comment(client, world["reader"], article, "stays")
        gone = await comment(client, world["reader"], article, "goes")
        for text in ("r1", "r2"):
            await comment(client, world["fan"], gone, text, art_id=article)
        await comment(client, world["fan"], keep, "r3", art_id=article)
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 5
        response = await client.delete(f"{COMMENTS}/{gone}", headers=world["author"])
        assert response.status_code == 204 and response.content == b""
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 2
        assert await counter(runtime, c.COMMENT_REPLIES, gone) == 0
        assert await counter(runtime, c.COMMENT_REPLIES, keep) == 1
        listed = await client.get(APP_COMMENTS, params={"type": "a", "source": article})
        assert [i["com_id"] for i in listed.json()["data"]["results"]] == [keep]
        async with runtime.db.session() as session:
            statuses = set(
                await session.scalars(
                    select(Comment.status).where(
                        (Comment.comment_id == gone) | (Comment.parent_id == gone)
                    )
                )
            )
        assert statuses == {CommentStatus.DELETED}
        again = await client.delete(f"{COMMENTS}/{gone}", headers=world["author"])
        assert again.status_code == 204
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 2
        await assert_counters_match_the_database(runtime)

    async def test_a_reply(self, client, runtime, world):
        article = world["article"]
        parent = await comment(client, world["reader"], article)
        reply = await comment(client, world["fan"], parent, "reply", art_id=article)
        assert (
            await client.delete(f"{COMMENTS}/{reply}", headers=world["author"])
        ).status_code == 204
        assert await counter(runtime, c.COMMENT_REPLIES, parent) == 0
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 1
        replies = await client.get(APP_COMMENTS, params={"type": "c", "source": parent})
        assert replies.json()["data"]["results"] == []
        await assert_counters_match_the_database(runtime)

    async def test_not_the_articles_author(self, client, runtime, world):
        target = await comment(client, world["reader"], world["theirs"])
        for who in ("author", "reader"):
            assert_error(await client.delete(f"{COMMENTS}/{target}", headers=world[who]), 404)
        assert await counter(runtime, c.ARTICLE_COMMENTS, world["theirs"]) == 1
        assert_error(await client.delete(f"{COMMENTS}/424242", headers=world["author"]), 404)

    async def test_needs_a_token(self, client, world):
        target = await comment(client, world["reader"], world["article"])
        assert_error(await client.delete(f"{COMMENTS}/{target}"), 401)

    async def test_audited(self, client, world, caplog):
        caplog.set_level("INFO", logger="toutiao.audit")
        target = await comment(client, world["reader"], world["article"])
        await client.delete(f"{COMMENTS}/{target}", headers=world["author"])
        lines = [r.getMessage() for r in caplog.records if r.name == "toutiao.audit"]
        assert lines == [f"mp.comment.delete user_id={world['ids']['author']} comment_id={target}"]


class TestFansComments:
    async def test_counted_when_a_follower_comments_and_uncounted_on_delete(
        self, client, runtime, world
    ):
        follow = await client.post(
            "/app/v1_0/user/followings",
            json={"target": world["ids"]["author"]},
            headers=world["fan"],
        )
        assert follow.status_code == 201, follow.text
        article = world["article"]
        await comment(client, world["reader"], article)
        by_fan = await comment(client, world["fan"], article)
        await comment(client, world["author"], article, "the author's own")
        assert await fans_comments(runtime, article) == 1
        await client.delete(f"{COMMENTS}/{by_fan}", headers=world["author"])
        assert await fans_comments(runtime, article) == 0


class TestOriginalCommentActions:
    async def test_reply_counts_and_is_audited(self, client, runtime, world, caplog):
        caplog.set_level("INFO", logger="toutiao.audit")
        parent = await comment(client, world["reader"], world["article"])
        body = {"target": parent, "content": " thanks! ", "art_id": world["article"]}
        response = await client.post(COMMENTS, json=body, headers=world["author"])
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert (data["target"], data["art_id"]) == (parent, world["article"])
        assert await counter(runtime, c.COMMENT_REPLIES, parent) == 1
        assert await counter(runtime, c.ARTICLE_COMMENTS, world["article"]) == 2
        replies = await client.get(APP_COMMENTS, params={"type": "c", "source": parent})
        assert [i["com_id"] for i in replies.json()["data"]["results"]] == [data["com_id"]]
        assert any("mp.comment.reply" in r.getMessage() for r in caplog.records)

    @pytest.mark.parametrize(
        "body",
        [
            {"content": "x"},
            {"target": 1, "content": "x"},
            {"target": 1, "art_id": 1},
            {"target": "first", "content": "x", "art_id": 1},
        ],
    )
    async def test_reply_missing_fields(self, client, world, body):
        assert_error(await client.post(COMMENTS, json=body, headers=world["author"]), 400)

    async def test_reply_to_a_comment_of_another_article_or_empty(self, client, world):
        parent = await comment(client, world["reader"], world["theirs"])
        body = {"target": parent, "content": "x", "art_id": world["article"]}
        assert_error(await client.post(COMMENTS, json=body, headers=world["author"]), 400)
        body = {"target": parent, "content": "   ", "art_id": world["theirs"]}
        assert_error(await client.post(COMMENTS, json=body, headers=world["author"]), 400)

    async def test_reply_when_comments_are_closed(self, client, world):
        parent = await comment(client, world["reader"], world["article"])
        switch = await client.put(
            "/mp/v1_0/comments/status",
            params={"article_id": world["article"]},
            json={"allow_comment": False},
            headers=world["author"],
        )
        assert switch.status_code == 201, switch.text
        body = {"target": parent, "content": "x", "art_id": world["article"]}
        assert_error(await client.post(COMMENTS, json=body, headers=world["author"]), 403)

    async def test_like_and_unlike(self, client, runtime, world):
        target = await comment(client, world["reader"], world["article"])
        url = "/mp/v1_0/comment/likings"
        for _ in range(2):
            response = await client.post(url, json={"target": target}, headers=world["author"])
            assert response.status_code == 201 and response.json()["data"] == {"target": target}
        assert await counter(runtime, c.COMMENT_LIKES, target) == 1
        for _ in range(2):
            response = await client.delete(f"{url}/{target}", headers=world["author"])
            assert response.status_code == 204
        assert await counter(runtime, c.COMMENT_LIKES, target) == 0
        assert_error(await client.post(url, json={"target": 424242}, headers=world["author"]), 400)
        assert_error(await client.post(url, json={"target": target}), 401)
