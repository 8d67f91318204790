"""HTTP tests of the comment endpoints E47-E50 (app.md; §4a; §5 items 16, 17, 20, 23, 33)."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.app.test_auth import assert_error
from tests.comment.test_service import blacklist, counter, insert_comment, make_article
from toutiao.models import CommentLiking
from toutiao.models.enums import ArticleStatus, CommentStatus
from toutiao.notify import COMMENT
from toutiao.stats import counters as c

COMMENTS = "/app/v1_0/comments"
LIKINGS = "/app/v1_0/comment/likings"
ITEM_FIELDS = {
    "com_id",
    "aut_id",
    "aut_name",
    "aut_photo",
    "like_count",
    "reply_count",
    "pubdate",
    "content",
    "is_top",
    "is_liking",
}


def ok_data(response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "data"} and body["message"] == "OK"
    return body["data"]


def check_item(item: dict[str, Any]) -> None:
    assert set(item) == ITEM_FIELDS
    for name in ("com_id", "aut_id", "like_count", "reply_count", "is_top"):
        assert type(item[name]) is int, (name, item)
    assert type(item["is_liking"]) is bool
    assert item["aut_photo"] is None or item["aut_photo"].startswith("http")
    assert isinstance(item["pubdate"], str) and isinstance(item["content"], str)


async def list_page(client, headers=None, **params: Any) -> dict[str, Any]:
    data = ok_data(await client.get(COMMENTS, params=params, headers=headers))
    assert set(data) == {"total_count", "end_id", "last_id", "results"}
    for item in data["results"]:
        check_item(item)
    return data


async def post_comment(
    client, headers, target: Any, content: str = "hi", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        COMMENTS, json={"target": target, "content": content, **extra}, headers=headers
    )
    return ok_data(response, 201)


@pytest.fixture
async def people(factory) -> dict[str, int]:
    return {name: (await factory.user(name=name)).user_id for name in ("author", "reader", "other")}


@pytest.fixture
def auth(factory, people) -> dict[str, dict[str, str]]:
    return {name: factory.headers(user_id) for name, user_id in people.items()}


@pytest.fixture
async def article(runtime, people) -> int:
    runtime.notifier.sent.clear()
    return await make_article(runtime, people["author"], title="Hello")


async def test_routes_are_registered(client):
    routes = (await client.get("/app/")).json()
    assert routes["news.comments"] == "/v1_0/comments"
    assert routes["news.comments_create"] == "/v1_0/comments"
    assert routes["news.commentlikings"] == "/v1_0/comment/likings"
    assert routes["news.commentlikings_delete"] == "/v1_0/comment/likings/<target>"


class TestList:
    async def test_shape_and_exact_64_bit_ids(self, client, auth, people, article):
        made = await post_comment(client, auth["reader"], str(article), "first")
        data = await list_page(client, type="a", source=str(article))
        assert data["total_count"] == 1
        assert data["end_id"] == data["last_id"] == made["com_id"] > 2**53
        (item,) = data["results"]
        assert item == made["new_obj"]
        assert item["aut_id"] == people["reader"] and item["aut_name"] == "reader"
        raw = (await client.get(COMMENTS, params={"type": "a", "source": article})).text
        assert f'"com_id":{made["com_id"]}' in raw and f'"end_id":{made["com_id"]}' in raw
        assert json.loads(raw)["data"]["results"][0]["aut_id"] == people["reader"]

    async def test_empty(self, client, article):
        data = await list_page(client, type="a", source=article)
        assert data == {"total_count": 0, "end_id": None, "last_id": None, "results": []}

    async def test_paging_across_pages(self, client, auth, article):
        made = [
            (await post_comment(client, auth["reader"], article, f"#{i}"))["com_id"]
            for i in range(12)
        ]
        seen: list[int] = []
        offset = None
        sizes = []
        while True:
            params: dict[str, Any] = {"type": "a", "source": article, "limit": 5}
            if offset is not None:
                params["offset"] = str(offset)
            data = await list_page(client, **params)
            ids = [item["com_id"] for item in data["results"]]
            sizes.append(len(ids))
            seen += ids
            assert data["total_count"] == 12 and data["end_id"] == min(made)
            if data["last_id"] == data["end_id"]:
                break
            offset = data["last_id"]
        assert sizes == [5, 5, 2]
        assert seen == sorted(made, reverse=True)
        after = await list_page(client, type="a", source=article, offset=min(made))
        assert after["results"] == [] and after["last_id"] is None

    async def test_default_limit_is_10(self, client, auth, article):
        for _ in range(11):
            await post_comment(client, auth["reader"], article)
        assert len((await list_page(client, type="a", source=article))["results"]) == 10

    async def test_replies(self, client, auth, article):
        top = (await post_comment(client, auth["reader"], article))["com_id"]
        reply = (await post_comment(client, auth["other"], top, "re", art_id=article))["com_id"]
        data = await list_page(client, type="c", source=top)
        assert [i["com_id"] for i in data["results"]] == [reply]
        assert data["total_count"] == 1
        top_item = (await list_page(client, type="a", source=article))["results"][0]
        assert top_item["reply_count"] == 1

    @pytest.mark.parametrize(
        "params",
        [
            {"source": "{article}"},
            {"type": "x", "source": "{article}"},
            {"type": "A", "source": "{article}"},
            {"type": "a"},
            {"type": "a", "source": "abc"},
            {"type": "a", "source": "0"},
            {"type": "a", "source": "-5"},
            {"type": "a", "source": "1.5"},
            {"type": "a", "source": "99999999999999999999"},
            {"type": "a", "source": "123456"},
            {"type": "c", "source": "123456"},
            {"type": "c", "source": "{article}"},
            {"type": "a", "source": "{article}", "limit": "0"},
            {"type": "a", "source": "{article}", "limit": "51"},
            {"type": "a", "source": "{article}", "limit": "ten"},
            {"type": "a", "source": "{article}", "offset": "0"},
            {"type": "a", "source": "{article}", "offset": "x"},
        ],
    )
    async def test_bad_parameters(self, client, article, params):
        query = {k: v.format(article=article) for k, v in params.items()}
        assert_error(await client.get(COMMENTS, params=query), 400)

    async def test_unapproved_article_is_400(self, client, runtime, people):
        draft = await make_article(runtime, people["author"], status=ArticleStatus.DRAFT)
        assert_error(await client.get(COMMENTS, params={"type": "a", "source": draft}), 400)

    async def test_auth_is_optional_but_a_bad_token_is_401(self, client, article):
        params = {"type": "a", "source": article}
        assert_error(
            await client.get(COMMENTS, params=params, headers={"Authorization": "Bearer nope"}), 401
        )
        await list_page(client, headers={"Authorization": "Anony device-1"}, **params)

    async def test_author_photo_is_a_url(self, client, runtime, factory, article):
        photographed = await factory.user(name="pic", profile_photo="ab/photo.png")
        await post_comment(client, factory.headers(photographed.user_id), article)
        (item,) = (await list_page(client, type="a", source=article))["results"]
        assert item["aut_photo"] == runtime.storage.url("ab/photo.png")

    async def test_blacklisted_authors_are_hidden(self, client, runtime, auth, people, article):
        mine = (await post_comment(client, auth["reader"], article, "visible"))["com_id"]
        theirs = (await post_comment(client, auth["other"], article, "hidden"))["com_id"]
        await blacklist(runtime, people["other"], people["reader"])  # they blocked me
        data = await list_page(client, auth["reader"], type="a", source=article)
        assert [i["com_id"] for i in data["results"]] == [mine]
        assert data["total_count"] == 1 and data["end_id"] == mine
        both = await list_page(client, type="a", source=article)
        assert [i["com_id"] for i in both["results"]] == [theirs, mine]


class TestCreate:
    async def test_comment_on_an_article(self, client, runtime, auth, people, article):
        data = await post_comment(client, auth["reader"], str(article), "  hello  ", art_id=None)
        assert set(data) == {"com_id", "target", "art_id", "new_obj"}
        assert data["target"] == data["art_id"] == article
        assert type(data["com_id"]) is int and data["com_id"] > 2**53
        new = data["new_obj"]
        check_item(new)
        assert new["com_id"] == data["com_id"] and new["content"] == "hello"
        assert (new["like_count"], new["reply_count"], new["is_top"], new["is_liking"]) == (
            0,
            0,
            0,
            False,
        )
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 1
        ((event, payload, room),) = runtime.notifier.sent
        assert (event, room) == (COMMENT, str(people["author"]))
        assert set(payload) == {
            "user_id",
            "user_name",
            "user_photo",
            "art_id",
            "art_title",
            "timestamp",
        }
        assert (payload["user_id"], payload["art_id"], payload["art_title"]) == (
            people["reader"],
            article,
            "Hello",
        )

    async def test_reply_and_reply_to_a_reply(self, client, runtime, auth, people, article):
        top = (await post_comment(client, auth["reader"], article))["com_id"]
        reply = await post_comment(client, auth["other"], str(top), "re", art_id=str(article))
        assert (reply["target"], reply["art_id"]) == (top, article)
        deeper = await post_comment(
            client, auth["author"], reply["com_id"], "re re", art_id=article
        )
        assert deeper["target"] == reply["com_id"]
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 3
        assert await counter(runtime, c.COMMENT_REPLIES, top) == 1
        assert await counter(runtime, c.COMMENT_REPLIES, reply["com_id"]) == 1
        rooms = [(data["user_id"], room) for _, data, room in runtime.notifier.sent]
        assert rooms == [
            (people["reader"], str(people["author"])),
            (people["other"], str(people["reader"])),
            (people["author"], str(people["other"])),
        ]
        replies = await list_page(client, type="c", source=top)
        assert replies["results"] == [reply["new_obj"] | {"reply_count": 1}]

    async def test_no_notification_to_oneself(self, client, runtime, auth, article):
        top = (await post_comment(client, auth["author"], article))["com_id"]
        await post_comment(client, auth["author"], top, art_id=article)
        assert list(runtime.notifier.sent) == []

    @pytest.mark.parametrize(
        "body",
        [
            {"content": "hi"},
            {"target": "abc", "content": "hi"},
            {"target": 0, "content": "hi"},
            {"target": -1, "content": "hi"},
            {"target": True, "content": "hi"},
            {"target": 1.5, "content": "hi"},
            {"target": "{article}"},
            {"target": "{article}", "content": 123},
            {"target": "{article}", "content": None},
            {"target": "{article}", "content": ""},
            {"target": "{article}", "content": "   "},
            {"target": "{article}", "content": "x" * 201},
            {"target": "{article}", "content": "hi", "art_id": "x"},
            {"target": "{article}", "content": "hi", "art_id": 0},
            {"target": 123456, "content": "hi"},
        ],
    )
    async def test_bad_bodies(self, client, runtime, auth, article, body):
        sent = {
            k: v.format(article=article) if isinstance(v, str) and "{" in v else v
            for k, v in body.items()
        }
        assert_error(await client.post(COMMENTS, json=sent, headers=auth["reader"]), 400)
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 0

    async def test_malformed_json_is_400(self, client, auth):
        response = await client.post(COMMENTS, content=b"{nope", headers=auth["reader"])
        assert_error(response, 400)

    async def test_200_characters_are_fine(self, client, auth, article):
        data = await post_comment(client, auth["reader"], article, "长" * 200)
        assert data["new_obj"]["content"] == "长" * 200

    async def test_bad_reply_targets(self, client, runtime, auth, people, article):
        other_article = await make_article(runtime, people["author"])
        top = (await post_comment(client, auth["reader"], article))["com_id"]
        pending = await insert_comment(
            runtime, people["reader"], article, status=CommentStatus.PENDING
        )
        for target, art_id in (
            (top, other_article),
            (pending, article),
            (123456, article),
            (article, article),
        ):
            body = {"target": target, "content": "re", "art_id": art_id}
            assert_error(await client.post(COMMENTS, json=body, headers=auth["other"]), 400)

    async def test_closed_article_is_403(self, client, runtime, auth, people):
        closed = await make_article(runtime, people["author"], allow_comment=False)
        body = {"target": closed, "content": "hi"}
        assert_error(await client.post(COMMENTS, json=body, headers=auth["reader"]), 403)

    async def test_unapproved_article_is_400(self, client, runtime, auth, people):
        pending = await make_article(runtime, people["author"], status=ArticleStatus.PENDING)
        assert_error(
            await client.post(
                COMMENTS, json={"target": pending, "content": "x"}, headers=auth["reader"]
            ),
            400,
        )

    async def test_blocked_commenter_is_403(self, client, runtime, auth, people, article):
        top = (await post_comment(client, auth["other"], article))["com_id"]
        await blacklist(runtime, people["reader"], people["other"])  # I blocked the parent's author
        body = {"target": top, "content": "re", "art_id": article}
        assert_error(await client.post(COMMENTS, json=body, headers=auth["reader"]), 403)
        await blacklist(runtime, people["author"], people["reader"])  # the author blocked me
        assert_error(
            await client.post(
                COMMENTS, json={"target": article, "content": "x"}, headers=auth["reader"]
            ),
            403,
        )
        assert await counter(runtime, c.ARTICLE_COMMENTS, article) == 1

    async def test_needs_a_valid_access_token(self, client, factory, people, article):
        body = {"target": article, "content": "hi"}
        assert_error(await client.post(COMMENTS, json=body), 401)
        refresh = factory.headers(people["reader"], refresh=True)
        assert_error(await client.post(COMMENTS, json=body, headers=refresh), 401)


class TestLikes:
    async def test_like_and_unlike_are_idempotent(self, client, runtime, auth, article):
        target = (await post_comment(client, auth["other"], article))["com_id"]

        async def seen_by(who: str) -> tuple[int, bool]:
            (item,) = (await list_page(client, auth[who], type="a", source=article))["results"]
            return item["like_count"], item["is_liking"]

        for _ in range(2):
            data = ok_data(
                await client.post(LIKINGS, json={"target": str(target)}, headers=auth["reader"]),
                201,
            )
            assert data == {"target": target}
            assert await seen_by("reader") == (1, True)
            assert await seen_by("author") == (1, False)
            assert await counter(runtime, c.COMMENT_LIKES, target) == 1
        for _ in range(2):
            response = await client.delete(f"{LIKINGS}/{target}", headers=auth["reader"])
            assert response.status_code == 204 and response.content == b""
            assert await seen_by("reader") == (0, False)
            assert await counter(runtime, c.COMMENT_LIKES, target) == 0

    async def test_bad_targets(self, client, runtime, auth, people, article):
        pending = await insert_comment(
            runtime, people["other"], article, status=CommentStatus.PENDING
        )
        for body in (
            {},
            {"target": "abc"},
            {"target": 0},
            {"target": 123456},
            {"target": pending},
            {"target": article},
        ):
            assert_error(await client.post(LIKINGS, json=body, headers=auth["reader"]), 400)
        for path in ("abc", "0", "-1"):
            assert_error(await client.delete(f"{LIKINGS}/{path}", headers=auth["reader"]), 404)
        response = await client.delete(f"{LIKINGS}/123456", headers=auth["reader"])
        assert response.status_code == 204

    async def test_needs_login(self, client, auth, article):
        target = (await post_comment(client, auth["other"], article))["com_id"]
        assert_error(await client.post(LIKINGS, json={"target": target}), 401)
        assert_error(await client.delete(f"{LIKINGS}/{target}"), 401)

    async def test_50_parallel_likes_and_unlikes_keep_the_counter_exact(
        self, client, runtime, auth, people, article
    ):
        target = (await post_comment(client, auth["other"], article))["com_id"]
        rng = random.Random(7)

        async def one() -> int:
            if rng.random() < 0.5:
                response = await client.post(
                    LIKINGS, json={"target": target}, headers=auth["reader"]
                )
            else:
                response = await client.delete(f"{LIKINGS}/{target}", headers=auth["reader"])
            return response.status_code

        statuses = await asyncio.gather(*(one() for _ in range(50)))
        assert set(statuses) <= {201, 204}, statuses
        async with runtime.db.session() as session:
            rows = await session.scalar(
                select(func.count())
                .select_from(CommentLiking)
                .where(
                    CommentLiking.comment_id == target,
                    CommentLiking.is_deleted.is_(False),
                )
            )
        assert await counter(runtime, c.COMMENT_LIKES, target) == rows
        (item,) = (await list_page(client, auth["reader"], type="a", source=article))["results"]
        assert (item["like_count"], item["is_liking"]) == (rows, rows == 1)

    async def test_parallel_first_likes_from_many_users(
        self, client, runtime, factory, auth, article
    ):
        target = (await post_comment(client, auth["other"], article))["com_id"]
        users = [(await factory.user()).user_id for _ in range(20)]
        responses = await asyncio.gather(
            *(
                client.post(LIKINGS, json={"target": target}, headers=factory.headers(u))
                for u in users
            )
        )
        assert [r.status_code for r in responses] == [201] * 20
        assert await counter(runtime, c.COMMENT_LIKES, target) == 20
        (item,) = (await list_page(client, type="a", source=article))["results"]
        assert item["like_count"] == 20
