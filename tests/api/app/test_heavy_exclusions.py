"""A reader with more dislikes and blacklists than the recommender caches (issue #15: the
cached exclusions held at most 2,000 dislikes, the newest articles', and 2,000 arbitrary
blacklist rows per direction, so an old disliked article or a blocked author could be served).

The reader disliked 2,500 articles newer than one of the channel's, blacklisted 2,500 users
and was blacklisted by 2,500, then one author each way past those. The fresh batches never
hold the disliked article nor those authors' articles, before or after new dislikes and
blacklists; the recommender's queries read rows bounded by its candidates, not the history;
a warm fresh batch is still served by the API alone (no SQL, two round trips).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import orjson
import pytest

from tests.api.app.test_heavy_reader import bulk
from tests.api.app.test_warm_paths import count_calls, feed, reco, world  # noqa: F401
from tests.fixtures.redis_counter import count_round_trips
from toutiao.article import cache as article_cache
from toutiao.kit.db import count_queries
from toutiao.models import Article, ArticleAttitude, User, UserRelation
from toutiao.models.enums import ArticleStatus, Attitude, Relation, UserStatus
from toutiao.recommend import keys, recall, waiting
from toutiao.user import cache as user_cache

MANY = 2_500  # past recall.FILTER_ROWS


@pytest.fixture
async def heavy(runtime, factory, world):  # noqa: F811
    assert recall.FILTER_ROWS < MANY
    reader = await factory.user(name="挑剔")
    channel, author = world["channel"], world["author"].user_id
    old = datetime.now().replace(microsecond=0) - timedelta(days=900)
    newer = [runtime.ids.next_id() for _ in range(MANY)]  # ids above the channel's articles
    await bulk(
        runtime,
        Article,
        [
            {
                "article_id": aid,
                "user_id": author,
                "channel_id": channel,
                "title": "旧闻",
                "status": ArticleStatus.APPROVED,
                "pubdate": old - timedelta(minutes=n),
                "cover": {"type": 0, "images": []},
            }
            for n, aid in enumerate(newer)
        ],
    )
    disliked = world["ids"][2]  # the oldest id of the reader's dislikes
    await bulk(
        runtime,
        ArticleAttitude,
        [
            {"user_id": reader.user_id, "article_id": a, "attitude": Attitude.DISLIKE}
            for a in [disliked, *newer]
        ],
    )
    people = [runtime.ids.next_id() for _ in range(2 * MANY)]
    await bulk(
        runtime,
        User,
        [
            {
                "user_id": u,
                "mobile": f"16{n:09d}",
                "user_name": f"b{n}",
                "status": UserStatus.ENABLED,
            }
            for n, u in enumerate(people)
        ],
    )
    # two authors created after those users (higher ids, later rows), each with fresh articles
    blocked = await factory.user(name="被拉黑")
    blocker = await factory.user(name="拉黑者")
    now = datetime.now().replace(microsecond=0)
    theirs = [
        await factory.article(
            who.user_id, channel, title=f"{n} 人工智能", pubdate=now - timedelta(minutes=n)
        )
        for who in (blocked, blocker)
        for n in range(6)
    ]
    later = await factory.user(name="后拉黑")
    later_articles = [
        await factory.article(
            later.user_id, channel, title=f"{n} 新闻", pubdate=now - timedelta(hours=25 + n)
        )
        for n in range(30)
    ]
    long_ago = old - timedelta(days=1)
    await bulk(
        runtime,
        UserRelation,
        [
            *(
                {
                    "user_id": reader.user_id,
                    "target_user_id": u,
                    "relation": Relation.BLACKLIST,
                    "update_time": long_ago,
                }
                for u in people[:MANY]
            ),
            {
                "user_id": reader.user_id,
                "target_user_id": blocked.user_id,
                "relation": Relation.BLACKLIST,
            },
            *(
                {
                    "user_id": u,
                    "target_user_id": reader.user_id,
                    "relation": Relation.BLACKLIST,
                    "update_time": long_ago,
                }
                for u in people[MANY:]
            ),
            {
                "user_id": blocker.user_id,
                "target_user_id": reader.user_id,
                "relation": Relation.BLACKLIST,
            },
        ],
    )
    return {
        "reader": reader.user_id,
        "headers": factory.headers(reader.user_id),
        "excluded_articles": {disliked},
        "excluded_authors": {blocked.user_id, blocker.user_id},
        "theirs": [*theirs, *later_articles],
        "later": later.user_id,
        "later_articles": later_articles,
    }


async def _pull(client, runtime, channel, headers, timestamp) -> list[dict]:
    response = await client.get(feed(channel, timestamp, with_top=0), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]["results"]


def _offending(items: list[dict], heavy: dict) -> list[int]:
    return [
        item["art_id"]
        for item in items
        if item["art_id"] in heavy["excluded_articles"]
        or item["aut_id"] in heavy["excluded_authors"]
    ]


async def test_a_reader_past_the_cached_exclusions_is_never_served_what_they_excluded(
    client,
    runtime,
    reco,  # noqa: F811
    world,  # noqa: F811
    heavy,
):
    headers, channel = heavy["headers"], world["channel"]
    engines = runtime.db.engines()
    # What is served is checked here, not how fast: a heavy reader's cold recall may outlast
    # the production deadline on a loaded machine, and the local recall would answer instead.
    runtime.reco.timeout = 10.0
    start = int(time.time() * 1000)
    served: list[dict] = []
    with count_queries(reco.engines_for_tests) as cold:
        served += await _pull(client, runtime, channel, headers, start)
    assert served and _offending(served, heavy) == []
    # the first recall reads the cached part once (3 x FILTER_ROWS at most) and checks its
    # candidates: rows bounded by them, not by the 2,500 + 2,500 + 2,500 of the history
    assert cold.rows <= 3 * recall.FILTER_ROWS + 1_000, cold.rows
    async with runtime.db.read_session() as session:  # every card and author is in Redis now
        cards = await article_cache.get_cards(
            runtime.cache, session, [*world["ids"], *heavy["theirs"]]
        )
        authors = sorted({card["aut_id"] for card in cards.values()})
        await user_cache.get_profiles(runtime.cache, session, authors)

    # warm: the API serves the checked queue alone, and never an excluded article
    asked = count_calls(reco)
    with (
        count_queries(engines) as queries,
        count_round_trips(runtime.cache, runtime.store) as trips,
    ):
        batch = await _pull(client, runtime, channel, headers, start + 1)
    assert len(batch) == 10 and _offending(batch, heavy) == []
    assert queries.count == 0, queries.statements
    assert trips.count <= 2, trips.calls
    assert asked == []
    served += batch
    # the cached copy every feed request reads stays small, whatever the history
    cached = orjson.loads(await runtime.store.get(keys.exclusions(str(heavy["reader"]))))
    assert cached["c"] == 0
    assert len(cached["a"]) <= waiting.PARTIAL_KEEP and len(cached["u"]) <= waiting.PARTIAL_KEEP

    # a new dislike and a new blacklist of what is queued: the next batches skip them too
    queued = [item for item in world["ids"] if item not in {s["art_id"] for s in served}]
    target = queued[0]
    response = await client.post(
        "/app/v1_0/article/dislikes", json={"target": target}, headers=headers
    )
    assert response.status_code in (200, 201), response.text
    heavy["excluded_articles"].add(target)
    other = heavy["later"]
    assert set(heavy["later_articles"]) - {s["art_id"] for s in served}  # some still queued
    response = await client.post(
        "/app/v1_0/user/blacklists", json={"target": other}, headers=headers
    )
    assert response.status_code in (200, 201), response.text
    heavy["excluded_authors"].add(other)
    with count_queries(reco.engines_for_tests) as again:
        batch = await _pull(client, runtime, channel, headers, start + 2)
    assert batch and _offending(batch, heavy) == []
    # each read is bounded (the cached part, the candidates' own rows); a refill the last
    # pulls asked for may run in the same moment and read the changed exclusions once more
    assert again.largest <= 3 * recall.FILTER_ROWS, again.largest
    assert again.rows <= 2 * (3 * recall.FILTER_ROWS + 1_000), again.rows
    for pull in range(3, 8):
        batch = await _pull(client, runtime, channel, headers, start + pull)
        assert _offending(batch, heavy) == [], pull
        served += batch
    assert len({s["art_id"] for s in served}) > 30  # the feed went on: the rest was served
