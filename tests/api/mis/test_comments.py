"""Comment moderation by staff (mis.md M40, M41) and what the app shows after."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.api.mis.helpers import assert_error, log_rows
from toutiao.models import StatisticsBasic
from toutiao.models.enums import StatisticsType
from toutiao.stats import rollup

COMMENTS = "/mis/v1_0/comments"
APP_COMMENTS = "/app/v1_0/comments"


async def post(client, headers, target, content="hi", **extra) -> int:
    response = await client.post(
        APP_COMMENTS, json={"target": target, "content": content, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]["com_id"]


async def app_ids(client, article_id: int) -> list[int]:
    response = await client.get(APP_COMMENTS, params={"type": "a", "source": article_id})
    assert response.status_code == 200, response.text
    return [item["com_id"] for item in response.json()["data"]["results"]]


async def app_replies(client, comment_id: int) -> list[int]:
    response = await client.get(APP_COMMENTS, params={"type": "c", "source": comment_id})
    return [item["com_id"] for item in response.json()["data"]["results"]]


async def comm_count(client, article_id: int) -> int:
    """The app's ``comm_count`` of the article, from its feed card."""
    # a new device each time: one reader's next pull brings other articles
    device = {"Authorization": f"Anony counter-{uuid.uuid4().hex}"}
    feed = await client.get("/app/v1_0/articles", params={"channel_id": 0}, headers=device)
    assert feed.status_code == 200, feed.text
    (card,) = [i for i in feed.json()["data"]["results"] if i["art_id"] == article_id]
    return card["comm_count"]


@pytest.fixture
async def thread(client, factory):
    author = await factory.user(name="作者")
    reader = await factory.user(name="读者")
    (tech,) = await factory.channels(["科技"])
    article_id = await factory.article(author.user_id, tech.channel_id, title="文章")
    headers = factory.headers(reader.user_id)
    first = await post(client, headers, article_id, "第一条 100%")
    second = await post(client, headers, article_id, "第二条")
    reply = await post(client, headers, first, "回复", art_id=article_id)
    return {
        "article": article_id,
        "first": first,
        "second": second,
        "reply": reply,
        "reader": reader.user_id,
    }


@pytest.mark.parametrize(
    ("method", "body", "code"),
    [
        ("GET", None, "comment-list-get"),
        ("PUT", {"comment_ids": [1], "status": 2}, "comment-list-put"),
    ],
)
async def test_each_needs_its_code(client, staff, method, body, code):
    other = "comment-list-put" if code == "comment-list-get" else "comment-list-get"
    refused = await client.request(method, COMMENTS, json=body, headers=await staff.headers(other))
    assert_error(refused, 403)
    assert_error(await client.request(method, COMMENTS, json=body), 401)


class TestList:
    async def test_items_and_filters(self, client, staff, thread):
        headers = await staff.headers("comment-list-get")
        data = (await client.get(COMMENTS, headers=headers)).json()["data"]
        assert data["total_count"] == 3
        newest = data["comments"][0]
        assert newest == {
            "comment_id": thread["reply"],
            "article_id": thread["article"],
            "article_title": "文章",
            "parent_id": thread["first"],
            "user_id": thread["reader"],
            "user_name": "读者",
            "content": "回复",
            "status": 1,
            "is_top": 0,
            "like_count": 0,
            "reply_count": 0,
            "create_time": newest["create_time"],
        }
        by_id = (await client.get(COMMENTS, params={"order_by": "id"}, headers=headers)).json()
        assert by_id["data"]["comments"][0]["reply_count"] == 1
        for params, expected in (
            ({"is_reply": 1}, [thread["reply"]]),
            ({"is_reply": 0, "order_by": "id"}, [thread["first"], thread["second"]]),
            ({"keyword": "100%"}, [thread["first"]]),
            ({"keyword": "1_0"}, []),
            ({"status": 0}, []),
            (
                {
                    "user_id": str(thread["reader"]),
                    "article_id": thread["article"],
                    "order_by": "id",
                },
                [thread["first"], thread["second"], thread["reply"]],
            ),
            ({"begin": "2000-01-01", "end": "2000-01-02"}, []),
        ):
            found = await client.get(COMMENTS, params=params, headers=headers)
            assert [c["comment_id"] for c in found.json()["data"]["comments"]] == expected, params

    @pytest.mark.parametrize(
        "params",
        [
            {"status": 4},
            {"is_reply": 2},
            {"article_id": "x"},
            {"order_by": "time"},
            {"end": "never"},
        ],
    )
    async def test_bad_parameters(self, client, staff, params):
        headers = await staff.headers("comment-list-get")
        assert_error(await client.get(COMMENTS, params=params, headers=headers), 400)


class TestModerate:
    async def test_reject_then_approve_moves_app_lists_and_counters(
        self, client, runtime, staff, thread
    ):
        article = thread["article"]
        assert sorted(await app_ids(client, article)) == sorted([thread["first"], thread["second"]])
        assert await comm_count(client, article) == 3
        headers = await staff.headers("comment-list-put")
        hidden = await client.put(
            COMMENTS,
            json={"comment_ids": [thread["second"], thread["reply"]], "status": 2},
            headers=headers,
        )
        assert hidden.status_code == 201 and hidden.json()["data"] == {"count": 2}
        assert await app_ids(client, article) == [thread["first"]]
        assert await app_replies(client, thread["first"]) == []
        assert await comm_count(client, article) == 1
        shown = await client.put(
            COMMENTS, json={"comment_ids": [thread["second"]], "status": 1}, headers=headers
        )
        assert shown.json()["data"] == {"count": 1}
        assert sorted(await app_ids(client, article)) == sorted([thread["first"], thread["second"]])
        assert await comm_count(client, article) == 2
        # approving an approved comment is not a move the contract allows
        assert_error(
            await client.put(
                COMMENTS, json={"comment_ids": [thread["second"]], "status": 1}, headers=headers
            ),
            409,
        )
        assert [r.operation for r in await log_rows(runtime)] == [
            "comment.reject",
            "comment.approve",
        ]

    async def test_delete_is_final_and_idempotent(self, client, runtime, staff, thread):
        headers = await staff.headers("comment-list-put")
        body = {"comment_ids": [thread["first"]], "status": 3}
        deleted = await client.put(COMMENTS, json=body, headers=headers)
        assert deleted.json()["data"] == {"count": 1}
        assert await app_ids(client, thread["article"]) == [thread["second"]]
        assert await comm_count(client, thread["article"]) == 1  # its reply left with it
        again = await client.put(COMMENTS, json=body, headers=headers)
        assert again.json()["data"] == {"count": 0}
        assert_error(
            await client.put(
                COMMENTS, json={"comment_ids": [thread["first"]], "status": 1}, headers=headers
            ),
            409,
        )

    async def test_batch_is_all_or_nothing(self, client, runtime, staff, thread):
        headers = await staff.headers("comment-list-put")
        await client.put(
            COMMENTS, json={"comment_ids": [thread["second"]], "status": 2}, headers=headers
        )
        both = {"comment_ids": [thread["first"], thread["second"]], "status": 2}
        assert_error(await client.put(COMMENTS, json=both, headers=headers), 409)
        assert thread["first"] in await app_ids(client, thread["article"])  # unchanged
        for body in (
            {"comment_ids": [thread["first"], 999], "status": 2},
            {"comment_ids": [], "status": 2},
            {"comment_ids": [thread["first"]], "status": 0},
            {"comment_ids": [thread["first"]]},
        ):
            assert_error(await client.put(COMMENTS, json=body, headers=headers), 400)
        assert [r.operation for r in await log_rows(runtime)] == ["comment.reject"]

    async def test_visible_comments_feed_the_statistics(self, client, runtime, staff, thread):
        headers = await staff.headers("comment-list-put")
        await client.put(
            COMMENTS, json={"comment_ids": [thread["second"]], "status": 2}, headers=headers
        )
        await client.put(
            COMMENTS, json={"comment_ids": [thread["second"]], "status": 1}, headers=headers
        )
        await rollup.rollup_job(runtime.db, runtime.store)
        async with runtime.db.read_session() as session:
            total = await session.scalar(
                select(func.sum(StatisticsBasic.count)).where(
                    StatisticsBasic.type == StatisticsType.COMMENT
                )
            )
        assert total == 4  # three created visible, one approved again


@pytest.fixture
def premoderation(runtime):
    runtime.settings.COMMENT_PREMODERATION = True
    yield
    runtime.settings.COMMENT_PREMODERATION = False


class TestPremoderation:
    """TOUTIAO_COMMENT_PREMODERATION on: E48 stores status 0, nothing shows in the app, no
    counter moves and nobody is notified until M41 approves; approval does all of that."""

    async def test_pending_until_approved_then_notified(
        self, client, runtime, factory, staff, premoderation
    ):
        author = await factory.user(name="作者")
        reader = await factory.user(name="读者")
        (tech,) = await factory.channels(["科技"])
        article = await factory.article(author.user_id, tech.channel_id, title="文章")
        reader_headers = factory.headers(reader.user_id)
        own = await post(client, factory.headers(author.user_id), article, "作者自己")
        comment = await post(client, reader_headers, article, "待审")
        before = len(runtime.notifier.sent)

        listed = await client.get(
            COMMENTS, params={"status": 0}, headers=await staff.headers("comment-list-get")
        )
        assert [c["comment_id"] for c in listed.json()["data"]["comments"]] == [comment, own]
        for headers in ({}, reader_headers, factory.headers(author.user_id)):
            shown = await client.get(
                APP_COMMENTS, params={"type": "a", "source": article}, headers=headers
            )
            assert [i["com_id"] for i in shown.json()["data"]["results"]] == []
        assert await comm_count(client, article) == 0
        # a pending comment cannot be replied to or liked yet
        refused = await client.post(
            APP_COMMENTS,
            json={"target": comment, "content": "回复", "art_id": article},
            headers=factory.headers(author.user_id),
        )
        assert_error(refused, 400)
        assert [e for e, _, _ in runtime.notifier.sent][before:] == []

        approved = await client.put(
            COMMENTS,
            json={"comment_ids": [comment], "status": 1},
            headers=await staff.headers("comment-list-put"),
        )
        assert approved.status_code == 201 and approved.json()["data"] == {"count": 1}
        assert await app_ids(client, article) == [comment]
        assert await comm_count(client, article) == 1
        sent = [(e, d, room) for e, d, room in runtime.notifier.sent][before:]
        assert [(e, room, d["art_id"]) for e, d, room in sent] == [
            ("comment notify", str(author.user_id), article)
        ]
        assert sent[0][1]["user_id"] == reader.user_id

        # approving it again later (after a reject) shows it but does not notify twice
        await client.put(
            COMMENTS,
            json={"comment_ids": [comment], "status": 2},
            headers=await staff.headers("comment-list-put"),
        )
        await client.put(
            COMMENTS,
            json={"comment_ids": [comment], "status": 1},
            headers=await staff.headers("comment-list-put"),
        )
        assert len(runtime.notifier.sent) == before + 1
        assert await app_ids(client, article) == [comment]

    async def test_approved_reply_notifies_the_parent_author(
        self, client, runtime, factory, staff, premoderation
    ):
        author = await factory.user(name="作者")
        first = await factory.user(name="一楼")
        replier = await factory.user(name="回复者")
        (tech,) = await factory.channels(["科技"])
        article = await factory.article(author.user_id, tech.channel_id, title="文章")
        runtime.settings.COMMENT_PREMODERATION = False
        parent = await post(client, factory.headers(first.user_id), article, "一楼")
        runtime.settings.COMMENT_PREMODERATION = True
        reply = await post(client, factory.headers(replier.user_id), parent, "回复", art_id=article)
        assert await app_replies(client, parent) == []
        before = len(runtime.notifier.sent)
        await client.put(
            COMMENTS,
            json={"comment_ids": [reply], "status": 1},
            headers=await staff.headers("comment-list-put"),
        )
        assert await app_replies(client, parent) == [reply]
        assert [(e, room) for e, _, room in runtime.notifier.sent][before:] == [
            ("comment notify", str(first.user_id))
        ]
