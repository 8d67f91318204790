"""A reader with a long history costs what any reader costs (issue: past the cache limits,
every logged-in detail page read 10,001 rows of the reader's likes, then asked again).

The reader has 50,000 likes, 20,000 collections and 20,000 followings, inserted in bulk.
After a first visit of each page, a warm article detail, feed batch, comment list and
profile make no SQL query and a bounded number of Redis round trips; a cold visit reads at
most one cache limit of rows once (then the reader is remembered as LARGE), and a new
article costs a few one-row queries, never the whole history again.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from tests.api.app.test_warm_paths import feed, reco, world  # noqa: F401 (fixtures)
from tests.fixtures.redis_counter import count_round_trips
from toutiao.article import cache as article_cache
from toutiao.kit.db import count_queries
from toutiao.models import Article, ArticleAttitude, Collection, User, UserRelation
from toutiao.models.enums import ArticleStatus, Attitude, Relation, UserStatus
from toutiao.stats import counters as c

LIKES = 50_000
COLLECTIONS = 20_000
FOLLOWINGS = 20_000
LIMIT = 10_000  # ATTITUDE_CACHE_LIMIT, LIST_CACHE_LIMIT, RELATIONSHIP_CACHE_LIMIT
CHUNK = 5_000


async def bulk(runtime, model, rows) -> None:
    async with runtime.db.session() as session:
        for start in range(0, len(rows), CHUNK):
            await session.execute(insert(model), rows[start : start + CHUNK])
        await session.commit()


@pytest.fixture
async def heavy(runtime, factory, world):  # noqa: F811
    """The reader likes, collects and follows in bulk, the world's 4th article and its author
    included (so the answers are checked, not only the costs)."""
    reader = await factory.user(name="老读者")
    author = world["author"].user_id
    old = datetime.now().replace(microsecond=0) - timedelta(days=900)
    ids = [runtime.ids.next_id() for _ in range(LIKES)]
    await bulk(
        runtime,
        Article,
        [
            {
                "article_id": aid,
                "user_id": author,
                "channel_id": world["channel"],
                "title": "旧闻",
                "status": ArticleStatus.APPROVED,
                "pubdate": old - timedelta(minutes=n),
                "cover": {"type": 0, "images": []},
            }
            for n, aid in enumerate(ids)
        ],
    )
    target = world["ids"][3]
    likes = [*ids[: LIKES - 1], target]
    await bulk(
        runtime,
        ArticleAttitude,
        [{"user_id": reader.user_id, "article_id": a, "attitude": Attitude.LIKE} for a in likes],
    )
    collected = [*ids[: COLLECTIONS - 1], target]
    await bulk(
        runtime,
        Collection,
        [{"user_id": reader.user_id, "article_id": a, "is_deleted": False} for a in collected],
    )
    people = [runtime.ids.next_id() for _ in range(FOLLOWINGS - 1)]
    await bulk(
        runtime,
        User,
        [
            {
                "user_id": u,
                "mobile": f"17{n:09d}",
                "user_name": f"u{n}",
                "status": UserStatus.ENABLED,
            }
            for n, u in enumerate(people)
        ],
    )
    await bulk(
        runtime,
        UserRelation,
        [
            {"user_id": reader.user_id, "target_user_id": u, "relation": Relation.FOLLOW}
            for u in [*people, author]
        ],
    )
    await runtime.store.zadd(c.USER_COLLECTS.key, {str(reader.user_id): COLLECTIONS})
    await runtime.store.zadd(c.USER_FOLLOWINGS.key, {str(reader.user_id): FOLLOWINGS})
    return {"reader": reader.user_id, "headers": factory.headers(reader.user_id)}


async def test_a_heavy_reader_browses_at_the_cost_of_any_reader(
    client,
    runtime,
    reco,  # noqa: F811
    world,  # noqa: F811
    heavy,
):
    headers = heavy["headers"]
    article = world["ids"][3]
    detail = f"/app/v1_0/articles/{article}"
    comments = f"/app/v1_0/comments?type=a&source={article}"
    now = int(time.time() * 1000)
    pages = {
        "detail": detail,
        "feed": feed(world["channel"], now),
        "comments": comments,
        "profile": "/app/v1_0/user",
        "author": f"/app/v1_0/users/{world['author'].user_id}",
    }
    engines = runtime.db.engines()

    # cold: each history is read at most once, bounded by the cache limit
    with count_queries(engines) as cold:
        for url in pages.values():
            assert (await client.get(url, headers=headers)).status_code == 200
    assert cold.rows <= 2 * (LIMIT + 1) + 2_000, cold.rows  # likes, relations; not collections
    async with runtime.db.read_session() as session:  # every card is in Redis now
        await article_cache.get_cards(runtime.cache, session, world["ids"])

    # warm: no SQL, bounded round trips, every answer right
    for name, url in pages.items():
        with (
            count_queries(engines) as queries,
            count_round_trips(runtime.cache, runtime.store) as trips,
        ):
            response = await client.get(url, headers=headers)
        assert response.status_code == 200, (name, response.text)
        assert queries.count == 0, (name, queries.statements)
        assert trips.count <= 3, (name, trips.calls)
        if name == "detail":
            data = response.json()["data"]
            assert (data["attitude"], data["is_collected"], data["is_followed"]) == (1, True, True)

    # another article: its own answers cost a few one-row queries, never the history
    other = world["ids"][5]
    with count_queries(engines) as queries:
        data = (await client.get(f"/app/v1_0/articles/{other}", headers=headers)).json()["data"]
    assert (data["attitude"], data["is_collected"], data["is_followed"]) == (-1, False, True)
    assert queries.count <= 3 and queries.rows <= 3, queries.statements
    with count_queries(engines) as queries:
        assert (await client.get(f"/app/v1_0/articles/{other}", headers=headers)).status_code == 200
    assert queries.count == 0

    # a like and a collection leave the reader LARGE: the next view reads the one article
    for action in ("likings", "collections"):
        response = await client.post(
            f"/app/v1_0/article/{action}", json={"target": other}, headers=headers
        )
        assert response.status_code in (200, 201), response.text
    with count_queries(engines) as queries:
        data = (await client.get(f"/app/v1_0/articles/{other}", headers=headers)).json()["data"]
    assert (data["attitude"], data["is_collected"]) == (1, True)
    assert queries.rows <= 3, queries.statements

    # the lists page in SQL: one page of rows (and a count), never the whole history
    for url in (
        "/app/v1_0/article/collections?page=3&per_page=10",
        "/app/v1_0/user/followings?page=3&per_page=10",
    ):
        await client.get(url, headers=headers)
        with count_queries(engines) as queries:
            response = await client.get(url, headers=headers)
        assert response.status_code == 200 and len(response.json()["data"]["results"]) == 10
        assert queries.rows <= 10 + 10 + 2, (url, queries.rows, queries.statements)
