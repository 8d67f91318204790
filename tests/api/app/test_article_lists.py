"""HTTP tests of the article lists E36-E39 (app.md; §5 items 17, 28, 37, 38).

Every test starts from empty tables and an empty Redis; the app commits for real.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.article.test_attitude import count_round_trips, make_article, make_channel, withdraw
from toutiao.article import collection as collection_service
from toutiao.article import lists as list_service
from toutiao.article.attitude import attitude_key
from toutiao.kit.db import count_queries
from toutiao.models import Collection
from toutiao.models.enums import ArticleStatus
from toutiao.stats import counters as c

BASE = "/app/v1_0"
MINE = f"{BASE}/user/articles"
COLLECTIONS = f"{BASE}/article/collections"
HISTORY = f"{BASE}/user/histories"
LIKINGS = f"{BASE}/article/likings"
UNKNOWN = 987654321

ITEM_FIELDS = {
    "art_id",
    "title",
    "aut_id",
    "aut_name",
    "comm_count",
    "pubdate",
    "cover",
    "like_count",
    "collect_count",
}
START = datetime(2024, 5, 1, 8, 0, 0)


def of_user(user_id: int) -> str:
    return f"{BASE}/users/{user_id}/articles"


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message"} and isinstance(body["message"], str), body


async def page(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    """GET a list; checks the envelope and paging fields, returns ``data``."""
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "data"} and body["message"] == "OK"
    data = body["data"]
    assert set(data) == {"page", "per_page", "results", "total_count"}
    assert data["page"] == int(params.get("page", 1))
    assert data["per_page"] == int(params.get("per_page", 10))
    assert len(data["results"]) <= data["per_page"]
    return data


def ids(data: dict[str, Any]) -> list[int]:
    return [item["art_id"] for item in data["results"]]


async def history_add(runtime, user_id: int, article_id: int, when: float) -> None:
    async with runtime.store.pipeline(transaction=False) as pipe:
        assert list_service.queue_history_write(pipe, user_id, article_id, when) == 2
        await pipe.execute()


async def collect_at(
    client, runtime, headers: dict[str, str], user_id: int, article_id: int, when: datetime
) -> None:
    """Collect through the API, then date the collection (seconds are too coarse to order
    collections made by one test)."""
    response = await client.post(COLLECTIONS, json={"target": article_id}, headers=headers)
    assert response.status_code == 201
    async with runtime.db.session() as session:
        await session.execute(
            update(Collection)
            .where(Collection.user_id == user_id, Collection.article_id == article_id)
            .values(update_time=when)
        )
        await session.commit()
    await runtime.store.delete(collection_service.collection_key(user_id))  # skip the tombstone


@pytest.fixture
async def people(factory) -> dict[str, Any]:
    rows = {name: await factory.user(name=name) for name in ("author", "reader", "quiet")}
    ids_ = {name: row.user_id for name, row in rows.items()}
    return {**ids_, "headers": {name: factory.headers(uid) for name, uid in ids_.items()}}


@pytest.fixture
async def published(runtime, people) -> list[int]:
    """Five approved articles of the author, oldest first, plus a draft and a banned one."""
    made = [
        await make_article(
            runtime,
            people["author"],
            title=f"Article {n}",
            pubdate=START + timedelta(hours=n),
            cover={"type": 1, "images": [f"http://img/{n}.png"]} if n == 4 else None,
        )
        for n in range(5)
    ]
    await make_article(
        runtime, people["author"], status=ArticleStatus.DRAFT, pubdate=START + timedelta(days=1)
    )
    await make_article(
        runtime, people["author"], status=ArticleStatus.BANNED, pubdate=START + timedelta(days=2)
    )
    return made


# -- paging rules shared by the four lists ----------------------------------------------------

LISTS = [MINE, COLLECTIONS, HISTORY, "user"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": -1},
        {"page": "a"},
        {"page": 1.5},
        {"per_page": 0},
        {"per_page": 51},
        {"per_page": "x"},
        {"page": ""},
    ],
)
async def test_bad_paging_is_400(client, people, url, params):
    url = of_user(people["author"]) if url == "user" else url
    response = await client.get(url, params=params, headers=people["headers"]["reader"])
    assert_error(response, 400)


@pytest.mark.parametrize("url", [MINE, COLLECTIONS, HISTORY])
async def test_login_required(client, factory, people, url):
    for headers in (
        {},
        {"Authorization": "Bearer x"},
        factory.headers(people["reader"], refresh=True),
        {"Authorization": "Anony d"},
    ):
        assert_error(await client.get(url, headers=headers), 401)


@pytest.mark.parametrize("url", [MINE, COLLECTIONS, HISTORY, "user"])
async def test_empty_lists(client, people, url):
    url = of_user(people["quiet"]) if url == "user" else url
    data = await page(client, url, people["headers"]["quiet"])
    assert data == {"page": 1, "per_page": 10, "results": [], "total_count": 0}


# -- E36 my articles --------------------------------------------------------------------------


async def test_my_articles_newest_first_published_only(client, runtime, people, published):
    author = people["headers"]["author"]
    await runtime.store.zadd(c.ARTICLE_COMMENTS.key, {str(published[4]): 3})
    await client.post(LIKINGS, json={"target": published[4]}, headers=people["headers"]["reader"])
    await client.post(
        COLLECTIONS, json={"target": published[4]}, headers=people["headers"]["reader"]
    )
    data = await page(client, MINE, author)
    assert data["total_count"] == 5
    assert ids(data) == published[::-1]
    first = data["results"][0]
    assert set(first) == ITEM_FIELDS  # no is_liking (app.md §5.28)
    assert first == {
        "art_id": published[4],
        "title": "Article 4",
        "aut_id": people["author"],
        "aut_name": "author",
        "comm_count": 3,
        "pubdate": "2024-05-01T12:00:00",
        "cover": {"type": 1, "images": ["http://img/4.png"]},
        "like_count": 1,
        "collect_count": 1,
    }
    assert data["results"][1]["cover"] == {"type": 0, "images": []}
    assert all(
        type(item["art_id"]) is int and type(item["aut_id"]) is int for item in data["results"]
    )


async def test_my_articles_paging_and_past_the_end(client, people, published):
    author = people["headers"]["author"]
    pages = [await page(client, MINE, author, page=n, per_page=2) for n in (1, 2, 3, 4)]
    assert [ids(p) for p in pages] == [published[4:2:-1], published[2:0:-1], published[:1], []]
    assert {p["total_count"] for p in pages} == {5}
    far = await page(client, MINE, author, page=2**31 - 1, per_page=50)
    assert far["results"] == [] and far["total_count"] == 5
    assert ids(await page(client, MINE, author, per_page=50)) == published[::-1]


async def test_withdrawn_articles_are_skipped_then_dropped(client, runtime, people, published):
    author = people["headers"]["author"]
    await page(client, MINE, author)  # the id list is now cached
    await withdraw(runtime, published[3])
    data = await page(client, MINE, author)
    assert ids(data) == [published[4], published[2], published[1], published[0]]
    await list_service.forget_user_articles(runtime.cache, people["author"])  # what mp/mis call
    await runtime.cache.delete(list_service.user_articles_key(people["author"]))  # the tombstone
    await c.USER_ARTICLES.incr(runtime.store, people["author"], -1)
    data = await page(client, MINE, author)
    assert data["total_count"] == 4 and len(data["results"]) == 4


async def test_my_articles_zero_counter_shortcut_and_warm_cache(client, runtime, people, published):
    author = people["headers"]["author"]
    await page(client, MINE, author)
    key = list_service.user_articles_key(people["author"])
    assert 600 <= await runtime.cache.ttl(key) <= 720
    with count_queries(runtime.db.engines()) as queries:
        assert ids(await page(client, MINE, author)) == published[::-1]
    assert queries.count == 0, queries.statements
    # a user whose article counter is 0 is answered without the list or the database
    await page(client, HISTORY, people["headers"]["quiet"])  # caches the user's status
    with count_queries(runtime.db.engines()) as queries:
        assert (await page(client, MINE, people["headers"]["quiet"]))["results"] == []
    assert queries.count == 0, queries.statements
    assert not await runtime.cache.exists(list_service.user_articles_key(people["quiet"]))


# -- E37 a user's articles ------------------------------------------------------------------


async def test_user_articles_with_is_liking(client, runtime, people, published):
    reader = people["headers"]["reader"]
    url = of_user(people["author"])
    anonymous = await page(client, url)
    assert ids(anonymous) == published[::-1] and anonymous["total_count"] == 5
    assert all(set(item) == ITEM_FIELDS | {"is_liking"} for item in anonymous["results"])
    assert not any(item["is_liking"] for item in anonymous["results"])
    for target in (published[1], published[3]):
        await client.post(LIKINGS, json={"target": target}, headers=reader)
    data = await page(client, url, reader)
    assert {item["art_id"] for item in data["results"] if item["is_liking"]} == {
        published[1],
        published[3],
    }
    assert {item["art_id"]: item["like_count"] for item in data["results"]}[published[1]] == 1
    await client.delete(f"{LIKINGS}/{published[3]}", headers=reader)
    liked = [
        item["art_id"] for item in (await page(client, url, reader))["results"] if item["is_liking"]
    ]
    assert liked == [published[1]]
    others = await page(client, url, people["headers"]["quiet"])
    assert not any(item["is_liking"] for item in others["results"])
    assert not any(item["is_liking"] for item in (await page(client, url))["results"])


async def test_user_articles_unknown_user_and_bad_tokens(client, factory, people, published):
    assert_error(await client.get(of_user(UNKNOWN)), 400)
    assert_error(await client.get(f"{BASE}/users/abc/articles"), 404)
    assert_error(
        await client.get(of_user(people["author"]), headers={"Authorization": "Bearer broken"}), 401
    )
    refresh = factory.headers(people["reader"], refresh=True)
    assert_error(await client.get(of_user(people["author"]), headers=refresh), 401)
    anony = await client.get(of_user(people["author"]), headers={"Authorization": "Anony device"})
    assert anony.status_code == 200


async def test_user_articles_paging(client, people, published):
    url = of_user(people["author"])
    assert ids(await page(client, url, page=2, per_page=3)) == published[1::-1]
    assert (await page(client, url, page=3, per_page=3))["results"] == []


# -- E38 my collections ---------------------------------------------------------------------


async def test_collections_most_recent_first_with_is_liking(client, runtime, people, published):
    reader, uid = people["headers"]["reader"], people["reader"]
    order = [published[2], published[0], published[4]]  # collected in this order
    for n, target in enumerate(order):
        await collect_at(client, runtime, reader, uid, target, START + timedelta(minutes=n))
    await client.post(LIKINGS, json={"target": published[0]}, headers=reader)
    data = await page(client, COLLECTIONS, reader)
    assert ids(data) == order[::-1] and data["total_count"] == 3
    assert [item["is_liking"] for item in data["results"]] == [False, True, False]
    assert all(set(item) == ITEM_FIELDS | {"is_liking"} for item in data["results"])
    assert {item["collect_count"] for item in data["results"]} == {1}
    assert ids(await page(client, COLLECTIONS, reader, page=2, per_page=2)) == [published[2]]
    assert (await page(client, COLLECTIONS, reader, page=3, per_page=2))["results"] == []
    # re-collecting moves an article back to the top
    await client.delete(f"{COLLECTIONS}/{published[2]}", headers=reader)
    await collect_at(client, runtime, reader, uid, published[2], START + timedelta(hours=1))
    assert ids(await page(client, COLLECTIONS, reader))[0] == published[2]


async def test_collections_after_each_write(client, runtime, people, published):
    """Tombstones make every write visible at once (read from the database meanwhile)."""
    reader = people["headers"]["reader"]
    await client.post(COLLECTIONS, json={"target": published[1]}, headers=reader)
    assert ids(await page(client, COLLECTIONS, reader)) == [published[1]]
    await client.delete(f"{COLLECTIONS}/{published[1]}", headers=reader)
    assert (await page(client, COLLECTIONS, reader))["total_count"] == 0


async def test_collections_skip_withdrawn_articles(client, runtime, people, published):
    reader, uid = people["headers"]["reader"], people["reader"]
    for n, target in enumerate(published[:3]):
        await collect_at(client, runtime, reader, uid, target, START + timedelta(minutes=n))
    await page(client, COLLECTIONS, reader)  # cached
    await withdraw(runtime, published[1], ArticleStatus.BANNED)
    data = await page(client, COLLECTIONS, reader)
    assert ids(data) == [published[2], published[0]]
    await runtime.store.delete(collection_service.collection_key(uid))  # rebuilt from SQL
    data = await page(client, COLLECTIONS, reader)
    assert ids(data) == [published[2], published[0]] and data["total_count"] == 2


async def test_warm_collections_page_makes_no_sql(client, runtime, people, published):
    reader, uid = people["headers"]["reader"], people["reader"]
    for n, target in enumerate(published):
        await collect_at(client, runtime, reader, uid, target, START + timedelta(minutes=n))
    await client.post(LIKINGS, json={"target": published[2]}, headers=reader)
    await runtime.store.delete(attitude_key(uid))  # the like's tombstone
    await page(client, COLLECTIONS, reader)  # warm up
    with count_queries(runtime.db.engines()) as queries, count_round_trips(runtime.store) as trips:
        data = await page(client, COLLECTIONS, reader)
    assert ids(data) == published[::-1]
    assert [item["is_liking"] for item in data["results"]] == [False, False, True, False, False]
    assert queries.count == 0, queries.statements
    # the id list (with its counter), then authors + counters + likes (cards are in L1)
    assert trips.count <= 3, trips.calls


# -- E39 my reading history -----------------------------------------------------------------


async def test_history_most_recent_first_deduplicated(client, runtime, people, published):
    reader, uid = people["headers"]["reader"], people["reader"]
    now = time.time()
    for n, target in enumerate([published[0], published[1], published[2], published[0]]):
        await history_add(runtime, uid, target, now + n)
    await client.post(LIKINGS, json={"target": published[1]}, headers=reader)
    data = await page(client, HISTORY, reader)
    assert ids(data) == [published[0], published[2], published[1]] and data["total_count"] == 3
    assert [item["is_liking"] for item in data["results"]] == [False, False, True]
    assert all(set(item) == ITEM_FIELDS | {"is_liking"} for item in data["results"])
    assert ids(await page(client, HISTORY, reader, page=2, per_page=2)) == [published[1]]
    assert (await page(client, HISTORY, reader, page=2, per_page=3))["results"] == []


async def test_history_keeps_the_100_most_recent(client, runtime, people):
    reader, uid = people["headers"]["reader"], people["reader"]
    channel = await make_channel(runtime)
    made = []
    for n in range(105):
        made.append(await make_article(runtime, people["author"], channel_id=channel))
        await history_add(runtime, uid, made[-1], 1_700_000_000 + n)
    assert await runtime.store.zcard(list_service.history_key(uid)) == 100
    data = await page(client, HISTORY, reader, per_page=50)
    assert data["total_count"] == 100
    assert ids(data) == made[:4:-1][:50]
    last = await page(client, HISTORY, reader, page=2, per_page=50)
    assert ids(last)[-1] == made[5]
    assert await page(client, HISTORY, reader, page=3, per_page=50) == {
        "page": 3,
        "per_page": 50,
        "results": [],
        "total_count": 100,
    }


async def test_history_skips_articles_no_longer_published(client, runtime, people, published):
    reader, uid = people["headers"]["reader"], people["reader"]
    for n, target in enumerate(published):
        await history_add(runtime, uid, target, 1_700_000_000 + n)
    await history_add(runtime, uid, UNKNOWN, 1_800_000_000)  # a vanished row: skipped, no 500
    await withdraw(runtime, published[2])
    data = await page(client, HISTORY, reader, per_page=2)
    assert ids(data) == [published[4], published[3]] and data["total_count"] == 4
    assert ids(await page(client, HISTORY, reader, page=2, per_page=2)) == [
        published[1],
        published[0],
    ]


async def test_warm_history_page_makes_no_sql(client, runtime, people, published):
    reader, uid = people["headers"]["reader"], people["reader"]
    for n, target in enumerate(published):
        await history_add(runtime, uid, target, 1_700_000_000 + n)
    await page(client, HISTORY, reader)  # warm up
    with count_queries(runtime.db.engines()) as queries:
        data = await page(client, HISTORY, reader)
    assert ids(data) == published[::-1]
    assert queries.count == 0, queries.statements
