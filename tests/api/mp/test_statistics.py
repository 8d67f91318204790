"""Author analytics and fans over HTTP (mp.md §6.4-6.6, §8.2 items 5-6)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.api.mp.conftest import assert_error
from toutiao.models import ArticleStatistic, UserProfile
from toutiao.models.enums import ArticleStatus, Gender
from toutiao.relation.audience import age_bucket
from toutiao.stats import counters as c


async def follow(client, factory, follower_id: int, author_id: int) -> None:
    response = await client.post(
        "/app/v1_0/user/followings",
        json={"target": author_id},
        headers=factory.headers(follower_id),
    )
    assert response.status_code == 201, response.text


@pytest.fixture
async def author(factory):
    return await factory.user(name="author")


@pytest.fixture
async def channel(factory):
    return (await factory.channels(["tech"]))[0]


class TestArticleStatistics:
    async def test_live_counters_and_the_snapshot(self, client, runtime, factory, author, channel):
        article = await factory.article(author.user_id, channel.channel_id)
        for counter, amount in (
            (c.ARTICLE_READS, 30),
            (c.ARTICLE_LIKES, 5),
            (c.ARTICLE_DISLIKES, 1),
            (c.ARTICLE_COLLECTS, 2),
            (c.ARTICLE_COMMENTS, 4),
        ):
            await counter.incr(runtime.store, article, amount)
        async with runtime.db.session() as session:
            session.add(ArticleStatistic(article_id=article, repost_count=3, fans_comment_count=2))
            await session.commit()
        response = await client.get(
            f"/mp/v1_0/articles/{article}/statistics", headers=factory.headers(author.user_id)
        )
        assert response.status_code == 200
        assert response.json()["data"] == {
            "article_id": article,
            "read_count": 30,
            "like_count": 5,
            "dislike_count": 1,
            "collect_count": 2,
            "repost_count": 3,
            "comment_count": 4,
            "fans_comment_count": 2,
        }

    async def test_no_counters_yet(self, client, factory, author, channel):
        article = await factory.article(
            author.user_id, channel.channel_id, status=ArticleStatus.DRAFT
        )
        response = await client.get(
            f"/mp/v1_0/articles/{article}/statistics", headers=factory.headers(author.user_id)
        )
        data = response.json()["data"]
        assert data.pop("article_id") == article and set(data.values()) == {0}

    async def test_not_mine_missing_or_malformed(self, client, factory, author, channel):
        other = await factory.user()
        theirs = await factory.article(other.user_id, channel.channel_id)
        headers = factory.headers(author.user_id)
        for path in (theirs, 99999999, "abc"):
            assert_error(
                await client.get(f"/mp/v1_0/articles/{path}/statistics", headers=headers), 404
            )
        assert_error(await client.get(f"/mp/v1_0/articles/{theirs}/statistics"), 401)


class TestSummary:
    async def test_counts_per_status_and_audience(self, client, runtime, factory, author, channel):
        made = {}
        for status in (
            ArticleStatus.DRAFT,
            ArticleStatus.PENDING,
            ArticleStatus.APPROVED,
            ArticleStatus.APPROVED,
            ArticleStatus.REJECTED,
            ArticleStatus.BANNED,
            ArticleStatus.DELETED,
        ):
            made[status] = await factory.article(author.user_id, channel.channel_id, status=status)
        approved = made[ArticleStatus.APPROVED]
        reader = await factory.user()
        await follow(client, factory, reader.user_id, author.user_id)
        headers = factory.headers(reader.user_id)
        await client.post(
            "/app/v1_0/comments", json={"target": approved, "content": "hi"}, headers=headers
        )
        await client.post(
            "/app/v1_0/article/collections", json={"target": approved}, headers=headers
        )
        await c.USER_READS.incr(runtime.store, author.user_id, 12)
        await c.USER_LIKED.incr(runtime.store, author.user_id, 3)
        response = await client.get(
            "/mp/v1_0/statistics/summary", headers=factory.headers(author.user_id)
        )
        assert response.status_code == 200
        assert response.json()["data"] == {
            "article_count": 6,
            "approved_count": 2,
            "pending_count": 1,
            "rejected_count": 2,
            "draft_count": 1,
            "fans_count": 1,
            "read_count": 12,
            "like_count": 3,
            "comment_count": 1,
            "collect_count": 1,
        }

    async def test_needs_a_token(self, client):
        assert_error(await client.get("/mp/v1_0/statistics/summary"), 401)


class TestFollowers:
    async def test_newest_first_with_paging(self, client, factory, author):
        fans = [await factory.user(name=f"fan{i}") for i in range(3)]
        for fan in fans:
            await follow(client, factory, fan.user_id, author.user_id)
        await follow(client, factory, author.user_id, fans[0].user_id)  # mutual
        headers = factory.headers(author.user_id)
        response = await client.get("/mp/v1_0/followers", headers=headers)
        assert response.status_code == 200
        data = response.json()["data"]
        assert (data["total_count"], data["page"], data["per_page"]) == (3, 1, 20)
        assert [i["id"] for i in data["results"]] == [f.user_id for f in reversed(fans)]
        first = data["results"][-1]
        assert first == {
            "id": fans[0].user_id,
            "name": "fan0",
            "photo": "",
            "fans_count": 1,
            "mutual_follow": True,
        }
        assert data["results"][0]["mutual_follow"] is False
        second = await client.get(
            "/mp/v1_0/followers", params={"page": 2, "per_page": 2}, headers=headers
        )
        assert [i["id"] for i in second.json()["data"]["results"]] == [fans[0].user_id]
        assert_error(
            await client.get("/mp/v1_0/followers", params={"per_page": 101}, headers=headers), 400
        )
        assert_error(await client.get("/mp/v1_0/followers"), 401)


class TestAudience:
    async def test_gender_age_and_area(self, client, runtime, factory, author):
        today = date.today()  # noqa: DTZ011
        people = [
            (Gender.MALE, date(today.year - 20, 1, 1), "北京"),
            (Gender.FEMALE, date(today.year - 30, 1, 1), "北京"),
            (Gender.FEMALE, None, "上海"),
            (Gender.MALE, date(today.year - 50, 1, 1), None),
        ]
        for gender, birthday, area in people:
            fan = await factory.user()
            async with runtime.db.session() as session:
                profile = await session.get(UserProfile, fan.user_id)
                profile.gender, profile.birthday, profile.area = gender, birthday, area
                await session.commit()
            await follow(client, factory, fan.user_id, author.user_id)
        bare = await factory.user(profile=False)
        await follow(client, factory, bare.user_id, author.user_id)
        stranger = await factory.user()  # follows someone else
        await follow(client, factory, stranger.user_id, bare.user_id)
        headers = factory.headers(author.user_id)
        response = await client.get("/mp/v1_0/statistics/followers", headers=headers)
        assert response.status_code == 200
        assert response.json()["data"] == {
            "total_count": 5,
            "gender": {"male": 2, "female": 2, "unknown": 1},
            "age": [
                {"range": "<18", "count": 0},
                {"range": "18-24", "count": 1},
                {"range": "25-34", "count": 1},
                {"range": "35-44", "count": 0},
                {"range": "45+", "count": 1},
                {"range": "unknown", "count": 2},
            ],
            "area": [{"name": "北京", "count": 2}, {"name": "上海", "count": 1}],
        }
        gender = await client.get("/mp/v1_0/statistics/followers/gender", headers=headers)
        assert gender.json()["data"] == {"male": 2, "female": 2}
        assert_error(await client.get("/mp/v1_0/statistics/followers"), 401)

    @pytest.mark.parametrize(
        ("birthday", "expected"),
        [
            (date(2008, 6, 2), "<18"),  # 17 the day before the 18th birthday
            (date(2008, 6, 1), "18-24"),
            (date(2001, 6, 2), "18-24"),
            (date(2001, 6, 1), "25-34"),
            (date(1981, 6, 1), "45+"),
            (date(2030, 1, 1), "unknown"),
            (None, "unknown"),
        ],
    )
    def test_age_buckets(self, birthday, expected):
        assert age_bucket(birthday, date(2026, 6, 1)) == expected


class TestStatisticList:
    async def test_list_items_with_counters(self, client, runtime, factory, author, channel):
        older = await factory.article(author.user_id, channel.channel_id, title="older article")
        await c.ARTICLE_READS.incr(runtime.store, older, 9)
        await c.ARTICLE_COMMENTS.incr(runtime.store, older, 2)
        async with runtime.db.session() as session:
            session.add(ArticleStatistic(article_id=older, repost_count=1, fans_comment_count=1))
            await session.commit()
        response = await client.get(
            "/mp/v1_0/articles",
            params={"response_type": "statistic"},
            headers=factory.headers(author.user_id),
        )
        assert response.status_code == 200, response.text
        [item] = response.json()["data"]["results"]
        assert item["id"] == older and item["title"] == "older article"
        assert {k: item[k] for k in ("read_count", "comment_count", "repost_count")} == {
            "read_count": 9,
            "comment_count": 2,
            "repost_count": 1,
        }
        assert item["fans_comment_count"] == 1 and item["like_count"] == 0
        assert {"status", "pubdate", "cover", "dislike_count", "collect_count"} <= set(item)
