"""Article review (mis.md M37-M39) and its effects on /app and /mp."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.api.mis.helpers import assert_error, log_rows
from tests.api.mp.conftest import Author
from tests.search.helpers import own_engine
from toutiao.content import sensitive
from toutiao.kit.db import count_queries
from toutiao.models import Report, SensitiveWord
from toutiao.models.enums import ReportStatus
from toutiao.notify import REVIEW

ARTICLES = "/mis/v1_0/articles"
REVIEWER = ("article-list-get", "article-list-put", "article-get")


@pytest.fixture
async def author(client, runtime, factory) -> Author:
    (channel,) = await factory.channels(["科技"])
    user = await factory.user(name="作者", is_media=True)
    return Author(client, runtime, factory, user, channel.channel_id)


@pytest.fixture
async def reviewer(staff):
    member = await staff.member(list(REVIEWER))
    return member, staff.headers_for(member)


async def review(client, headers, ids, status, reason=None):
    body = {"article_ids": ids, "status": status}
    if reason is not None:
        body["reject_reason"] = reason
    return await client.put(ARTICLES, json=body, headers=headers)


async def app_status(client, article_id: int) -> int:
    return (await client.get(f"/app/v1_0/articles/{article_id}")).status_code


async def art_count(client, user_id: int) -> int:
    return (await client.get(f"/app/v1_0/users/{user_id}")).json()["data"]["art_count"]


async def search_ids(client, runtime, q: str) -> list[int]:
    # The tests' local:// task tier indexed at commit.
    response = await client.get("/app/v1_0/search", params={"q": q})
    assert response.status_code == 200, response.text
    return [item["art_id"] for item in response.json()["data"]["results"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("GET", ARTICLES, None, "article-list-get"),
        ("PUT", ARTICLES, {"article_ids": [1], "status": 2}, "article-list-put"),
        ("GET", f"{ARTICLES}/1", None, "article-get"),
    ],
)
async def test_each_needs_its_code(client, staff, method, path, body, code):
    headers = await staff.headers(*(c for c in REVIEWER if c != code))
    assert_error(await client.request(method, path, json=body, headers=headers), 403)
    assert_error(await client.request(method, path, json=body), 401)


class TestReviewAcrossSurfaces:
    async def test_approve_reaches_app_search_feed_and_counter(
        self, client, runtime, author, reviewer, tmp_path: Path
    ):
        member, headers = reviewer
        async with own_engine(runtime, tmp_path / "index"):
            article_id = await author.create_id(title="火箭回收的新进展")
            assert await app_status(client, article_id) == 404
            queue = await client.get(
                ARTICLES, params={"status_list": "1", "order_by": "create_time"}, headers=headers
            )
            assert [a["article_id"] for a in queue.json()["data"]["articles"]] == [article_id]
            approved = await review(client, headers, [str(article_id)], 2)
            assert approved.status_code == 201 and approved.json()["data"] == {"count": 1}
            assert await app_status(client, article_id) == 200
            assert await search_ids(client, runtime, "火箭") == [article_id]
            feed = await client.get("/app/v1_0/articles", params={"channel_id": author.channel_id})
            assert article_id in [i["art_id"] for i in feed.json()["data"]["results"]]
            assert await art_count(client, author.id) == 1
            banned = await review(client, headers, [article_id], 5, "违规内容")
            assert banned.json()["data"] == {"count": 1}
            assert await app_status(client, article_id) == 404
            assert await search_ids(client, runtime, "火箭") == []
            assert await art_count(client, author.id) == 0
        mine = (await author.list()).json()["data"]["results"]
        assert (mine[0]["status"], mine[0]["reject_reason"]) == (3, "违规内容")
        row = (await client.get(f"{ARTICLES}/{article_id}", headers=headers)).json()["data"]
        assert (row["status"], row["reviewer_id"]) == (5, member.administrator_id)
        logged = [(r.operation, r.description) for r in await log_rows(runtime)]
        assert logged == [
            ("article.approve", f"approve articles {article_id}"),
            ("article.ban", f"ban articles {article_id}: 违规内容"),
        ]
        notices = [
            d for e, d, room in runtime.notifier.sent if e == REVIEW and room == str(author.id)
        ]
        assert [(n["art_id"], n["status"], n["reason"]) for n in notices] == [
            (article_id, 2, None),
            (article_id, 5, "违规内容"),
        ]

    async def test_reject_shows_the_reason_in_mp(self, client, runtime, author, reviewer):
        _, headers = reviewer
        first = await author.create_id()
        second = await author.create_id()
        assert (await review(client, headers, [first], 3, "标题夸张")).status_code == 201
        assert (await review(client, headers, [second], 3)).status_code == 201
        shown = {a["id"]: a for a in (await author.list()).json()["data"]["results"]}
        assert (shown[first]["status"], shown[first]["reject_reason"]) == (3, "标题夸张")
        assert shown[second]["reject_reason"] == "系统审核"  # the configured default
        assert await app_status(client, first) == 404

    async def test_delete_unban_and_reports(self, client, runtime, factory, author, reviewer):
        _, headers = reviewer
        article_id = await author.create_id()
        await review(client, headers, [article_id], 2)
        reader = await factory.user()
        reported = await client.post(
            "/app/v1_0/article/reports",
            json={"target": article_id, "type": 2},
            headers=factory.headers(reader.user_id),
        )
        assert reported.status_code == 201
        await review(client, headers, [article_id], 5)
        unbanned = await review(client, headers, [article_id], 6)
        assert unbanned.json()["data"] == {"count": 1}
        assert await app_status(client, article_id) == 200
        deleted = await review(client, headers, [article_id], 4)
        assert deleted.json()["data"] == {"count": 1}
        assert await app_status(client, article_id) == 404
        again = await review(client, headers, [article_id], 4)
        assert again.json()["data"] == {"count": 0}  # already deleted: left alone
        async with runtime.db.read_session() as session:
            report = (await session.scalars(select(Report))).one()
        assert report.status == ReportStatus.HANDLED and report.handler_id is not None


class TestReviewRules:
    async def test_errors_change_nothing(self, client, runtime, author, reviewer):
        _, headers = reviewer
        pending = await author.create_id()
        draft = await author.create_id(draft=True)
        for status in (0, 1, 7):
            assert_error(await review(client, headers, [pending], status), 400)
        assert_error(await review(client, headers, [pending, 999], 2), 400)
        assert_error(await review(client, headers, [], 2), 400)
        assert_error(await review(client, headers, [pending], 3, "x" * 201), 400)
        assert_error(await review(client, headers, [pending, draft], 2), 409)  # a draft
        assert_error(await review(client, headers, [pending], 5), 409)  # not approved
        listed = await client.get(ARTICLES, params={"status_list": "1"}, headers=headers)
        assert [a["article_id"] for a in listed.json()["data"]["articles"]] == [pending]
        assert await log_rows(runtime) == []

    @pytest.mark.parametrize(
        "params",
        [
            {"status_list": "1,9"},
            {"status_list": "a"},
            {"order_by": "title"},
            {"user_id": "x"},
            {"begin": "2026-01-02", "end": "2026-01-01"},
        ],
    )
    async def test_bad_list_parameters(self, client, reviewer, params):
        _, headers = reviewer
        assert_error(await client.get(ARTICLES, params=params, headers=headers), 400)


class TestListAndDetail:
    async def test_filters_and_item_shape(self, client, author, reviewer, factory):
        _, headers = reviewer
        first = await author.create_id(title="第一篇文章")
        second = await author.create_id(title="第二篇文章")
        await review(client, headers, [second], 2)
        data = (await client.get(ARTICLES, headers=headers)).json()["data"]
        assert data["total_count"] == 2 and data["articles"][0]["article_id"] == second
        item = data["articles"][0]
        assert set(item) == {
            "article_id",
            "title",
            "name",
            "channel_name",
            "comment_count",
            "update_time",
            "status",
            "user_id",
            "channel_id",
            "create_time",
            "reviewer_id",
            "review_time",
            "reject_reason",
        }
        assert (item["name"], item["channel_name"], item["status"]) == ("作者", "科技", 2)
        for params, expected in (
            ({"title": "第一"}, [first]),
            ({"channel": "科"}, [second, first]),
            ({"channel": "体育"}, []),
            ({"status_list": "2"}, [second]),
            ({"order_by": "id"}, [first, second]),
            ({"user_id": str(author.id), "order_by": "create_time"}, [first, second]),
            ({"channel_id": author.channel_id, "status_list": "1,2", "end": "2000-01-01"}, []),
        ):
            found = await client.get(ARTICLES, params=params, headers=headers)
            assert [a["article_id"] for a in found.json()["data"]["articles"]] == expected, params

    async def test_pages_and_totals_in_one_statement(
        self, client, runtime, author, reviewer, factory
    ):
        """A page and its total come from one statement (besides the staff check); deep
        pages and a page past the end keep the real total."""
        _, headers = reviewer
        ids = [
            await factory.article(author.id, author.channel_id, title=f"文章{n}", status=1)
            for n in range(23)
        ]
        queue = {"status_list": "1", "order_by": "create_time", "per_page": 10}
        seen = []
        for page in (1, 2, 3):
            with count_queries(runtime.db.engines()) as found:
                got = await client.get(ARTICLES, params={**queue, "page": page}, headers=headers)
            data = got.json()["data"]
            assert data["total_count"] == 23
            seen += [a["article_id"] for a in data["articles"]]
            reads = [s for s in found.statements if s.lstrip().upper().startswith("SELECT")]
            assert len(reads) == 2, reads  # the staff check, the page with its total
        assert seen == ids  # oldest first, each once
        past = await client.get(ARTICLES, params={**queue, "page": 9}, headers=headers)
        assert past.json()["data"] == {
            "articles": [],
            "total_count": 23,
            "page": 9,
            "per_page": 10,
        }
        none = await client.get(ARTICLES, params={"status_list": "5"}, headers=headers)
        assert none.json()["data"]["total_count"] == 0

    async def test_detail_with_sensitive_words(self, client, runtime, author, reviewer):
        _, headers = reviewer
        async with runtime.db.session() as session:
            session.add(SensitiveWord(word="赌博", weights=1))
            await session.commit()
        await sensitive.invalidate(runtime)
        article_id = await author.create_id(content="<p>这里讨论赌博问题</p>")
        data = (await client.get(f"{ARTICLES}/{article_id}", headers=headers)).json()["data"]
        assert data["sensitive_words"] == ["赌博"]
        assert data["content"] == "<p>这里讨论赌博问题</p>"
        assert data["cover"] == {"type": 0, "images": []}
        assert (data["allow_comment"], data["read_count"], data["report_count"]) == (1, 0, 0)
        assert_error(await client.get(f"{ARTICLES}/123", headers=headers), 404)
        assert_error(await client.get(f"{ARTICLES}/abc", headers=headers), 404)
