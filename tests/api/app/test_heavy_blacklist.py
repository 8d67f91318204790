"""A reader with 20,000 blacklist entries (issue #15: every logged-in comment list and search
read the whole ``user:{uid}:blocks`` set, 20,000 members, and the comment list sent them to
the database as a NOT IN list).

Past ``BLOCKS_CACHE_LIMIT`` the blocked hash is LARGE: a warm comment list and search make
no SQL query, a bounded number of Redis round trips and read a handful of members, and the
comments and articles of the authors in a blacklist relation with the reader (both
directions) stay hidden, pages kept full.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.app.test_heavy_reader import bulk
from tests.api.app.test_search import Desk, search
from tests.fixtures.redis_counter import count_round_trips
from tests.search.helpers import own_engine
from toutiao.comment import cache as cc
from toutiao.kit.cache import INVALIDATED
from toutiao.kit.db import count_queries
from toutiao.models import User, UserRelation
from toutiao.models.enums import Relation, UserStatus
from toutiao.relation import cache as rc

ENTRIES = 20_000


@pytest.fixture
async def scene(runtime, factory, tmp_path: Path):
    """The reader blacklisted 20,000 users and ``blocked``; ``blocker`` blacklisted the reader;
    ``fine`` is in no relation with the reader. Each wrote comments on ``fine``'s article and
    articles matching one query."""
    assert rc.BLOCKS_CACHE_LIMIT < ENTRIES
    reader = await factory.user(name="黑名单很长")
    blocked = await factory.user(name="被拉黑")
    blocker = await factory.user(name="拉黑者")
    fine = await factory.user(name="无关")
    people = [runtime.ids.next_id() for _ in range(ENTRIES)]
    await bulk(
        runtime,
        User,
        [
            {
                "user_id": u,
                "mobile": f"14{n:09d}",
                "user_name": f"h{n}",
                "status": UserStatus.ENABLED,
            }
            for n, u in enumerate(people)
        ],
    )
    rows = [
        {"user_id": reader.user_id, "target_user_id": u, "relation": Relation.BLACKLIST}
        for u in [*people, blocked.user_id]
    ]
    rows.append(
        {
            "user_id": blocker.user_id,
            "target_user_id": reader.user_id,
            "relation": Relation.BLACKLIST,
        }
    )
    await bulk(runtime, UserRelation, rows)
    (channel,) = await factory.channels(["后端"])
    article = await factory.article(fine.user_id, channel.channel_id, title="一篇")
    return {
        "reader": reader.user_id,
        "headers": factory.headers(reader.user_id),
        "hidden": {blocked.user_id, blocker.user_id},
        "authors": (blocked, blocker, fine),
        "article": article,
        "channel": channel.channel_id,
    }


async def test_comment_lists_of_a_reader_with_20000_blacklist_entries(
    client, runtime, factory, scene
):
    # 18 comments, newest last: blocked, blocker, fine, blocked, blocker, fine, ...
    mine = []
    for n in range(6):
        for author in scene["authors"]:
            response = await client.post(
                "/app/v1_0/comments",
                json={"target": scene["article"], "content": f"评论 {n}"},
                headers=factory.headers(author.user_id),
            )
            assert response.status_code == 201, response.text
            if author.user_id not in scene["hidden"]:
                mine.append(response.json()["data"]["com_id"])
    newest_first = mine[::-1]
    await runtime.cache.delete(cc.article_list_key(scene["article"]))  # its 5 s tombstone
    url = f"/app/v1_0/comments?type=a&source={scene['article']}&limit=5"
    headers = scene["headers"]

    with count_queries(runtime.db.engines()) as cold:
        first = (await client.get(url, headers=headers)).json()["data"]
    assert [c["com_id"] for c in first["results"]] == newest_first[:5]
    assert cold.rows <= rc.BLOCKS_CACHE_LIMIT + 1 + 50, cold.rows  # once: then LARGE
    assert await runtime.store.hget(rc.blocks_key(scene["reader"]), "-3") == "-3"

    with (
        count_queries(runtime.db.engines()) as queries,
        count_round_trips(runtime.cache, runtime.store) as trips,
        count_round_trips(runtime.store) as replies,
    ):
        again = (await client.get(url, headers=headers)).json()["data"]
    assert again["results"] == first["results"]
    assert queries.count == 0, queries.statements
    # window + blacklist marker, bodies, blocked authors; once more a wider window; counters
    assert trips.count <= 7, trips.calls
    assert replies.items <= 200, replies.sizes  # never the 20,000 entries

    # just written (a tombstone): the page comes from SQL, authors checked per row there
    await runtime.cache.set(cc.article_list_key(scene["article"]), INVALIDATED, ex=5)
    with count_queries(runtime.db.engines()) as queries:
        written = (await client.get(url, headers=headers)).json()["data"]
    assert [c["com_id"] for c in written["results"]] == newest_first[:5]
    assert written["total_count"] == len(mine)
    assert queries.rows <= 5 + 1 + 5, queries.statements  # the page, its count, a few cards
    await runtime.cache.delete(cc.article_list_key(scene["article"]))

    response = await client.get(f"{url}&offset={first['last_id']}", headers=headers)
    rest = response.json()["data"]
    assert [c["com_id"] for c in rest["results"]] == newest_first[5:]
    assert rest["end_id"] == rest["last_id"]  # the client knows the list is over


async def test_search_of_a_reader_with_20000_blacklist_entries(
    client, runtime, factory, scene, tmp_path: Path
):
    async with own_engine(runtime, tmp_path / "index"):
        theirs: dict[int, list[int]] = {}
        for n in range(3):
            for author in scene["authors"]:
                desk = Desk(runtime, factory, author.user_id, scene["channel"])
                article = await desk.article(f"熔断降级 第{n}篇")
                theirs.setdefault(author.user_id, []).append(article)
        headers = scene["headers"]
        fine = scene["authors"][2].user_id

        with count_queries(runtime.db.engines()) as cold:
            data = await search(client, "熔断降级", headers, per_page=3)
        assert {r["art_id"] for r in data["results"]} == set(theirs[fine])  # a full page
        assert cold.rows <= rc.BLOCKS_CACHE_LIMIT + 1 + 50, cold.rows

        with (
            count_queries(runtime.db.engines()) as queries,
            count_round_trips(runtime.cache, runtime.store) as trips,
            count_round_trips(runtime.store) as replies,
        ):
            again = await search(client, "熔断降级", headers, per_page=3)
        assert again["results"] == data["results"]
        assert queries.count == 0, queries.statements
        assert trips.count <= 8, trips.calls
        assert replies.items <= 200, replies.sizes
        everyone = await search(client, "熔断降级", per_page=9)
        assert len(everyone["results"]) == 9  # the anonymous reader sees them all
