"""Reading my articles through /mp: both list shapes and the detail (mp.md §3.6, §3.7)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import update

from tests.api.mp.conftest import assert_error
from toutiao.models import Article, ArticleStatistic
from toutiao.models.enums import ArticleStatus

S = ArticleStatus


async def set_row(runtime, article_id: int, **values) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(Article).where(Article.article_id == article_id).values(**values)
        )
        await session.commit()


@pytest.fixture
async def shelf(author, other_author, runtime, channel_ids):
    """One article per status (banned too), created a day apart, oldest first."""
    ids = {}
    for day, status in enumerate([S.DRAFT, S.PENDING, S.APPROVED, S.REJECTED, S.DELETED, S.BANNED]):
        article_id = await author.create_id(draft=True, title=f"第{day}篇文章标题")
        values = {"status": status, "create_time": datetime(2026, 1, 10 + day, 8, 30)}
        if status in (S.REJECTED, S.BANNED):
            values["reject_reason"] = f"reason {int(status)}"
        await set_row(runtime, article_id, **values)
        ids[status] = article_id
    await other_author.create_id()
    return ids


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]["results"]]


class TestList:
    async def test_default_shape(self, author, shelf):
        response = await author.list(page=1, per_page=10)
        data = response.json()["data"]
        assert set(data) == {"total_count", "page", "per_page", "results"}
        assert (data["total_count"], data["page"], data["per_page"]) == (5, 1, 10)
        order = [S.BANNED, S.REJECTED, S.APPROVED, S.PENDING, S.DRAFT]
        assert ids_of(response) == [shelf[s] for s in order]
        banned, rejected, approved = data["results"][:3]
        assert banned["status"] == 3 and banned["reject_reason"] == "reason 5"
        assert rejected["reject_reason"] == "reason 3" and approved["reject_reason"] is None
        assert approved["pubdate"] == "2026-01-12 08:30:00"
        assert approved["cover"] == {"type": 0, "images": []}
        assert approved["allow_comment"] is True and approved["comment_count"] == 0
        assert isinstance(approved["channel_id"], int)
        assert {item["status"] for item in data["results"]} <= {0, 1, 2, 3, 4}

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            (0, [S.DRAFT]),
            (1, [S.PENDING]),
            (2, [S.APPROVED]),
            (3, [S.BANNED, S.REJECTED]),
            (4, [S.DELETED]),
        ],
    )
    async def test_status_filter(self, author, shelf, status, expected):
        response = await author.list(status=status)
        assert ids_of(response) == [shelf[s] for s in expected]
        assert response.json()["data"]["total_count"] == len(expected)

    async def test_channel_and_dates(self, author, shelf, channel_ids):
        await set_row(runtime := author.runtime, shelf[S.PENDING], channel_id=channel_ids[1])
        assert ids_of(await author.list(channel_id=channel_ids[1])) == [shelf[S.PENDING]]
        assert ids_of(await author.list(channel_id=99999)) == []
        del runtime
        response = await author.list(begin_pubdate="2026-01-11", end_pubdate="2026-01-12")
        assert ids_of(response) == [shelf[S.APPROVED], shelf[S.PENDING]]
        assert ids_of(await author.list(begin_pubdate="2026-01-13")) == [
            shelf[S.BANNED],
            shelf[S.REJECTED],
        ]
        assert ids_of(await author.list(end_pubdate="2026-01-10")) == [shelf[S.DRAFT]]
        assert ids_of(await author.list(begin_pubdate="2026-01-12", end_pubdate="2026-01-11")) == []

    async def test_paging(self, author, shelf):
        response = await author.list(page=2, per_page=2)
        assert len(ids_of(response)) == 2 and response.json()["data"]["total_count"] == 5
        past = await author.list(page=9, per_page=2)
        assert ids_of(past) == [] and past.json()["data"]["total_count"] == 5
        assert len(ids_of(await author.list(per_page=100))) == 5

    @pytest.mark.parametrize(
        "params",
        [
            {"status": 5},
            {"status": -1},
            {"status": "x"},
            {"per_page": 101},
            {"per_page": 0},
            {"page": 0},
            {"page": "a"},
            {"begin_pubdate": "2026-13-01"},
            {"end_pubdate": "20260101"},
            {"channel_id": "x"},
            {"response_type": "other"},
        ],
    )
    async def test_bad_parameters(self, author, params):
        assert_error(await author.list(**params), 400)

    async def test_comment_shape(self, author, shelf, runtime):
        async with runtime.db.session() as session:
            stat = await session.get(ArticleStatistic, shelf[S.APPROVED])
            stat.fans_comment_count = 2
            await session.commit()
        await runtime.store.zadd("count:art:comm", {str(shelf[S.APPROVED]): 7})
        await set_row(runtime, shelf[S.DRAFT], allow_comment=False)
        response = await author.list(response_type="comment", page=1, per_page=20)
        results = response.json()["data"]["results"]
        by_id = {item["id"]: item for item in results}
        assert set(results[0]) == {
            "id",
            "title",
            "total_comment_count",
            "fans_comment_count",
            "comment_status",
        }
        assert by_id[shelf[S.APPROVED]]["total_comment_count"] == 7
        assert by_id[shelf[S.APPROVED]]["fans_comment_count"] == 2
        assert by_id[shelf[S.APPROVED]]["comment_status"] is True
        assert by_id[shelf[S.DRAFT]]["comment_status"] is False
        assert len(results) == 5


class TestDetail:
    async def test_my_article(self, author, runtime):
        image = author.image("x")
        article_id = await author.create_id(
            content=f'<p>hello<img src="{image}"></p>', cover={"type": 1, "images": [image]}
        )
        response = await author.get(article_id)
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["id"] == article_id and data["title"] == "一篇足够长的标题"
        assert data["content"] == f'<p>hello<img src="{image}"></p>'
        assert data["cover"] == {"type": 1, "images": [image]}
        assert data["channel_id"] == author.channel_id and data["status"] == 1
        assert len(data["pubdate"]) == 19

    async def test_deleted_is_readable_others_404(self, author, other_author, client):
        article_id = await author.create_id()
        await author.delete(article_id)
        assert (await author.get(article_id)).json()["data"]["status"] == 4
        assert_error(await other_author.get(article_id), 404)
        assert_error(await author.get(2**62), 404)
        assert (
            await client.get("/mp/v1_0/articles/abc", headers=author.headers)
        ).status_code == 404

    async def test_rejected_shows_reason(self, author, runtime):
        article_id = await author.create_id()
        await set_row(runtime, article_id, status=S.REJECTED, reject_reason="标题党")
        data = (await author.get(article_id)).json()["data"]
        assert data["status"] == 3 and data["reject_reason"] == "标题党"


class TestSearchMine:
    async def test_title_words_only_mine_not_deleted(self, author, other_author, shelf, client):
        await other_author.create_id(title="第2篇文章标题也在这")
        response = await client.get(
            "/mp/v1_0/search", params={"q": "第2篇"}, headers=author.headers
        )
        assert ids_of(response) == [shelf[S.APPROVED]]
        response = await client.get("/mp/v1_0/search", params={"q": "文章"}, headers=author.headers)
        assert shelf[S.DELETED] not in ids_of(response) and len(ids_of(response)) == 5
        percent = await client.get("/mp/v1_0/search", params={"q": "%"}, headers=author.headers)
        assert ids_of(percent) == []

    @pytest.mark.parametrize(
        "params", [{}, {"q": ""}, {"q": "x" * 51}, {"q": "a", "per_page": 101}]
    )
    async def test_bad_parameters(self, author, client, params):
        response = await client.get("/mp/v1_0/search", params=params, headers=author.headers)
        assert_error(response, 400)

    async def test_needs_login(self, client):
        assert_error(await client.get("/mp/v1_0/search", params={"q": "a"}), 401)
