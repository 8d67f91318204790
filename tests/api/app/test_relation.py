"""HTTP tests of follow and blacklist, E18-E23 (app.md; §5 items 18, 20, 22, 23; §4.2).

Every test starts from empty tables and an empty Redis; the app commits for real.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.api.app.test_auth import assert_error
from tests.relation.test_service import settle
from toutiao.models import UserRelation
from toutiao.models.enums import Relation
from toutiao.notify import FOLLOWING
from toutiao.recommend import keys as reco_keys
from toutiao.relation import cache as rc
from toutiao.stats import counters

BASE = "/app/v1_0"
FOLLOWINGS = f"{BASE}/user/followings"
FOLLOWERS = f"{BASE}/user/followers"
BLACKLISTS = f"{BASE}/user/blacklists"
ITEM_FIELDS = {"id", "name", "photo", "fans_count", "mutual_follow"}


# -- helpers ------------------------------------------------------------------------------


class Person:
    def __init__(self, row: Any, headers: dict[str, str]) -> None:
        self.id: int = row.user_id
        self.name: str = row.user_name
        self.headers = headers


@pytest.fixture
def make(factory):
    async def create(**columns: Any) -> Person:
        row = await factory.user(**columns)
        return Person(row, factory.headers(row.user_id))

    return create


@pytest.fixture
async def me(make) -> Person:
    return await make(name="我")


@pytest.fixture
async def other(make) -> Person:
    return await make(name="别人")


@pytest.fixture(autouse=True)
def _clear_notifications(runtime):
    runtime.notifier.sent.clear()


def follow_events(runtime) -> list[tuple[str, dict[str, Any], str]]:
    return [sent for sent in runtime.notifier.sent if sent[0] == FOLLOWING]


async def post(client, url: str, who: Person, target: Any) -> Any:
    return await client.post(url, json={"target": target}, headers=who.headers)


async def follow(client, who: Person, target: int) -> None:
    response = await post(client, FOLLOWINGS, who, target)
    assert response.status_code == 201, response.text


async def blacklist(client, who: Person, target: int) -> None:
    response = await post(client, BLACKLISTS, who, target)
    assert response.status_code == 201, response.text


def assert_empty_204(response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""


async def card(client, target: int, viewer: Person | None = None) -> dict[str, Any]:
    """E17: another user's card, seen by ``viewer``."""
    response = await client.get(
        f"{BASE}/users/{target}", headers=viewer.headers if viewer else None
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def counts(runtime, user_id: int) -> tuple[int, int]:
    return (
        await counters.USER_FOLLOWINGS.get(runtime.store, user_id),
        await counters.USER_FANS.get(runtime.store, user_id),
    )


async def page(client, url: str, who: Person, **params: Any) -> dict[str, Any]:
    response = await client.get(url, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "data"} and body["message"] == "OK"
    data = body["data"]
    assert set(data) == {"total_count", "page", "per_page", "results"}
    for item in data["results"]:
        assert set(item) == ITEM_FIELDS
        assert type(item["id"]) is int and type(item["fans_count"]) is int
        assert type(item["mutual_follow"]) is bool
    return data


def ids(data: dict[str, Any]) -> list[int]:
    return [item["id"] for item in data["results"]]


async def db_rows(runtime, **where: Any) -> int:
    async with runtime.db.session() as session:
        query = select(func.count()).select_from(UserRelation)
        for column, value in where.items():
            query = query.where(getattr(UserRelation, column) == value)
        return int(await session.scalar(query) or 0)


async def relation(runtime, user_id: int, target: int) -> Relation | None:
    async with runtime.db.session() as session:
        return await session.scalar(
            select(UserRelation.relation).where(
                UserRelation.user_id == user_id, UserRelation.target_user_id == target
            )
        )


BAD_TARGETS = [None, 0, -1, True, False, 1.5, "abc", "", " ", "1e3", [1], {"id": 1}]
BAD_PAGING = [
    {"page": 0},
    {"page": -1},
    {"page": "abc"},
    {"page": "1.5"},
    {"page": ""},
    {"page": "true"},
    {"per_page": 0},
    {"per_page": 51},
    {"per_page": -5},
    {"per_page": "x"},
    {"page": 2**31},
]


# -- E18 POST /user/followings -------------------------------------------------------------------


class TestFollow:
    async def test_follow_is_201_and_counts(self, client, runtime, me, other):
        response = await post(client, FOLLOWINGS, me, other.id)
        assert response.status_code == 201
        assert response.json() == {"message": "OK", "data": {"target": other.id}}
        assert f'"target":{other.id}' in response.text  # an exact JSON integer
        assert await counts(runtime, me.id) == (1, 0)
        assert await counts(runtime, other.id) == (0, 1)
        seen = await card(client, other.id, me)
        assert seen["is_following"] is True and seen["is_blacklist"] is False
        assert seen["fans_count"] == 1
        mine = (await client.get(f"{BASE}/user", headers=me.headers)).json()["data"]
        assert mine["follow_count"] == 1 and mine["fans_count"] == 0

    async def test_target_may_be_a_string_of_digits(self, client, runtime, me, other):
        response = await post(client, FOLLOWINGS, me, str(other.id))
        assert response.status_code == 201
        assert response.json()["data"] == {"target": other.id}
        assert await relation(runtime, me.id, other.id) == Relation.FOLLOW

    async def test_repeat_is_201_without_counting_or_notifying_again(
        self, client, runtime, me, other
    ):
        for _ in range(3):
            response = await post(client, FOLLOWINGS, me, other.id)
            assert response.status_code == 201
            assert response.json() == {"message": "OK", "data": {"target": other.id}}
        assert await counts(runtime, me.id) == (1, 0)
        assert await counts(runtime, other.id) == (0, 1)
        assert len(follow_events(runtime)) == 1
        assert await db_rows(runtime, user_id=me.id) == 1

    async def test_new_follow_notifies_the_target(self, client, runtime, make, other):
        actor = await make(name="粉丝", profile_photo="avatars/a.png")
        before = int(datetime.now().timestamp() * 1000)
        await follow(client, actor, other.id)
        after = int(datetime.now().timestamp() * 1000)
        [(event, payload, room)] = follow_events(runtime)
        assert event == "following notify"
        assert room == str(other.id)
        assert set(payload) == {"user_id", "user_name", "user_photo", "timestamp"}
        assert payload["user_id"] == actor.id and payload["user_name"] == "粉丝"
        assert payload["user_photo"] == runtime.storage.url("avatars/a.png")
        assert type(payload["timestamp"]) is int and before <= payload["timestamp"] <= after

    async def test_refollow_after_unfollow_notifies_again(self, client, runtime, me, other):
        await follow(client, me, other.id)
        assert_empty_204(await client.delete(f"{FOLLOWINGS}/{other.id}", headers=me.headers))
        await follow(client, me, other.id)
        assert len(follow_events(runtime)) == 2
        assert await counts(runtime, other.id) == (0, 1)

    @pytest.mark.parametrize("target", BAD_TARGETS)
    async def test_bad_target_is_400(self, client, runtime, me, target):
        assert_error(await post(client, FOLLOWINGS, me, target), 400)
        assert await counts(runtime, me.id) == (0, 0)

    async def test_missing_or_malformed_body_is_400(self, client, me):
        assert_error(await client.post(FOLLOWINGS, json={}, headers=me.headers), 400)
        assert_error(await client.post(FOLLOWINGS, headers=me.headers), 400)
        assert_error(await client.post(FOLLOWINGS, content=b"{target:", headers=me.headers), 400)
        assert_error(await client.post(FOLLOWINGS, json=[1], headers=me.headers), 400)

    async def test_unknown_user_self_and_huge_ids_are_400(self, client, runtime, me):
        assert_error(await post(client, FOLLOWINGS, me, 123456789), 400)
        assert_error(await post(client, FOLLOWINGS, me, me.id), 400)
        assert_error(await post(client, FOLLOWINGS, me, str(me.id)), 400)
        assert_error(await post(client, FOLLOWINGS, me, 2**63), 400)
        assert await db_rows(runtime) == 0
        assert follow_events(runtime) == []

    async def test_extra_fields_are_ignored(self, client, me, other):
        response = await client.post(
            FOLLOWINGS, json={"target": other.id, "extra": 1}, headers=me.headers
        )
        assert response.status_code == 201

    @pytest.mark.parametrize(
        "authorization", [None, "Bearer nope", "Anony device-1", "Basic abc", "Bearer"]
    )
    async def test_requires_login(self, client, other, authorization):
        headers = {"Authorization": authorization} if authorization else None
        assert_error(await client.post(FOLLOWINGS, json={"target": other.id}, headers=headers), 401)

    async def test_refresh_token_is_401(self, client, factory, me, other):
        headers = factory.headers(me.id, refresh=True)
        assert_error(await client.post(FOLLOWINGS, json={"target": other.id}, headers=headers), 401)

    async def test_following_a_user_i_blacklisted_clears_the_blacklist(
        self, client, runtime, me, other
    ):
        await blacklist(client, me, other.id)
        assert (await card(client, other.id, me))["is_blacklist"] is True
        await follow(client, me, other.id)
        seen = await card(client, other.id, me)
        assert seen["is_following"] is True and seen["is_blacklist"] is False
        assert await counts(runtime, other.id) == (0, 1)
        assert len(follow_events(runtime)) == 1

    async def test_a_user_blocked_by_the_target_cannot_follow(self, client, runtime, me, other):
        await blacklist(client, other, me.id)
        assert_error(await post(client, FOLLOWINGS, me, other.id), 400)
        assert follow_events(runtime) == []
        assert await counts(runtime, me.id) == (0, 0)
        assert await counts(runtime, other.id) == (0, 0)
        assert await relation(runtime, me.id, other.id) is None
        assert (await page(client, FOLLOWINGS, me))["total_count"] == 0


# -- E19 DELETE /user/followings/:target ---------------------------------------------------------


class TestUnfollow:
    async def test_unfollow_is_204_and_counts_once(self, client, runtime, me, other):
        await follow(client, me, other.id)
        for _ in range(2):
            assert_empty_204(await client.delete(f"{FOLLOWINGS}/{other.id}", headers=me.headers))
        assert await counts(runtime, me.id) == (0, 0)
        assert await counts(runtime, other.id) == (0, 0)
        assert (await card(client, other.id, me))["is_following"] is False
        assert await relation(runtime, me.id, other.id) == Relation.NONE

    async def test_nothing_to_delete_is_still_204(self, client, runtime, me, other):
        assert_empty_204(await client.delete(f"{FOLLOWINGS}/{other.id}", headers=me.headers))
        assert_empty_204(await client.delete(f"{FOLLOWINGS}/{me.id}", headers=me.headers))
        assert_empty_204(await client.delete(f"{FOLLOWINGS}/123456789", headers=me.headers))
        assert await db_rows(runtime) == 0
        assert await counts(runtime, me.id) == (0, 0)

    async def test_unfollow_keeps_a_blacklist(self, client, runtime, me, other):
        await blacklist(client, me, other.id)
        assert_empty_204(await client.delete(f"{FOLLOWINGS}/{other.id}", headers=me.headers))
        assert await relation(runtime, me.id, other.id) == Relation.BLACKLIST

    @pytest.mark.parametrize("path", ["abc", "0", "-1", "1.5", "12345678901234567890"])
    async def test_path_that_does_not_match_is_404(self, client, me, path):
        assert_error(await client.delete(f"{FOLLOWINGS}/{path}", headers=me.headers), 404)

    async def test_requires_login(self, client, other):
        assert_error(await client.delete(f"{FOLLOWINGS}/{other.id}"), 401)


# -- E20 / E21 the lists -------------------------------------------------------------------------


class TestLists:
    @pytest.fixture
    async def crowd(self, client, runtime, make, me) -> list[Person]:
        """Five users I follow, followed in order; 0 and 3 follow me back, 4 has 2 fans."""
        people = [await make(name=f"u{n}") for n in range(5)]
        base = datetime(2024, 1, 1, 8, 0, 0)
        for n, person in enumerate(people):
            await follow(client, me, person.id)
            async with runtime.db.session() as session:  # a distinct follow time each
                await session.execute(
                    update(UserRelation)
                    .where(UserRelation.user_id == me.id, UserRelation.target_user_id == person.id)
                    .values(update_time=base + timedelta(hours=n))
                )
                await session.commit()
        await follow(client, people[0], me.id)
        await follow(client, people[3], me.id)
        await follow(client, people[0], people[4].id)
        await settle(runtime)
        return people

    async def test_followings_newest_first_with_mutual_and_counts(self, client, me, crowd):
        data = await page(client, FOLLOWINGS, me)
        assert data["total_count"] == 5 and data["page"] == 1 and data["per_page"] == 10
        newest_first = crowd[::-1]
        assert data["results"] == [
            {
                "id": p.id,
                "name": p.name,
                "photo": None,
                "fans_count": 2 if p is crowd[4] else 1,
                "mutual_follow": p in (crowd[0], crowd[3]),
            }
            for p in newest_first
        ]

    async def test_followers_with_mutual(self, client, runtime, me, crowd, make):
        stranger = await make(name="路人")
        await follow(client, stranger, me.id)
        data = await page(client, FOLLOWERS, me)
        assert data["total_count"] == 3
        assert ids(data) == [stranger.id, crowd[3].id, crowd[0].id]
        assert [item["mutual_follow"] for item in data["results"]] == [False, True, True]
        assert data["results"][0] == {
            "id": stranger.id,
            "name": "路人",
            "photo": None,
            "fans_count": 0,
            "mutual_follow": False,
        }
        assert (await page(client, FOLLOWERS, crowd[4]))["total_count"] == 2

    async def test_photo_is_a_url(self, client, runtime, make, me):
        star = await make(name="star", profile_photo="avatars/star.png")
        await follow(client, me, star.id)
        [item] = (await page(client, FOLLOWINGS, me))["results"]
        assert item["photo"] == runtime.storage.url("avatars/star.png")

    async def test_paging(self, client, me, crowd):
        newest_first = [p.id for p in crowd[::-1]]
        for _ in range(2):  # filled from SQL, then served from the cached zset
            pages = [await page(client, FOLLOWINGS, me, page=n, per_page=2) for n in (1, 2, 3)]
            assert [ids(p) for p in pages] == [
                newest_first[:2],
                newest_first[2:4],
                newest_first[4:],
            ]
            assert all(p["total_count"] == 5 and p["per_page"] == 2 for p in pages)
            assert [p["page"] for p in pages] == [1, 2, 3]
        beyond = await page(client, FOLLOWINGS, me, page=9, per_page=2)
        assert beyond == {"total_count": 5, "page": 9, "per_page": 2, "results": []}
        assert ids(await page(client, FOLLOWINGS, me, per_page=50)) == newest_first
        assert ids(await page(client, FOLLOWINGS, me, per_page=1)) == newest_first[:1]

    @pytest.mark.parametrize("params", BAD_PAGING)
    @pytest.mark.parametrize("url", [FOLLOWINGS, FOLLOWERS])
    async def test_bad_paging_is_400(self, client, me, url, params):
        assert_error(await client.get(url, params=params, headers=me.headers), 400)

    async def test_empty_lists(self, client, me):
        for url in (FOLLOWINGS, FOLLOWERS):
            assert await page(client, url, me) == {
                "total_count": 0,
                "page": 1,
                "per_page": 10,
                "results": [],
            }

    async def test_body_target_is_ignored(self, client, me, other, make):
        third = await make()
        await follow(client, other, third.id)
        response = await client.request(
            "GET", FOLLOWINGS, json={"target": other.id}, headers=me.headers
        )
        assert response.status_code == 200
        assert response.json()["data"]["total_count"] == 0

    @pytest.mark.parametrize("url", [FOLLOWINGS, FOLLOWERS])
    async def test_requires_login(self, client, url):
        assert_error(await client.get(url), 401)
        assert_error(await client.get(url, headers={"Authorization": "Anony x"}), 401)

    async def test_lists_follow_every_write(self, client, runtime, me, other, make):
        third = await make()
        await follow(client, other, me.id)
        assert ids(await page(client, FOLLOWINGS, me)) == []
        assert ids(await page(client, FOLLOWERS, me)) == [other.id]
        await follow(client, me, other.id)
        await follow(client, me, third.id)
        assert ids(await page(client, FOLLOWINGS, me)) == [third.id, other.id]
        followers = await page(client, FOLLOWERS, me)
        assert followers["results"][0]["mutual_follow"] is True
        await settle(runtime)  # now from the cache
        assert ids(await page(client, FOLLOWINGS, me)) == [third.id, other.id]
        assert_empty_204(await client.delete(f"{FOLLOWINGS}/{third.id}", headers=me.headers))
        assert ids(await page(client, FOLLOWINGS, me)) == [other.id]
        await blacklist(client, me, other.id)  # ends both follows
        assert (await page(client, FOLLOWINGS, me))["total_count"] == 0
        assert (await page(client, FOLLOWERS, me))["total_count"] == 0
        assert (await page(client, FOLLOWERS, other))["total_count"] == 0
        await settle(runtime)
        assert (await page(client, FOLLOWINGS, other))["total_count"] == 0
        assert (await page(client, FOLLOWERS, third))["total_count"] == 0
        assert await runtime.cache.exists(rc.followings_key(other)) == 0  # zero counter


# -- E22 / E23 blacklist --------------------------------------------------------------------------


class TestBlacklist:
    async def test_blacklist_is_201(self, client, runtime, me, other):
        for _ in range(2):  # idempotent
            response = await post(client, BLACKLISTS, me, other.id)
            assert response.status_code == 201
            assert response.json() == {"message": "OK", "data": {"target": other.id}}
        seen = await card(client, other.id, me)
        assert seen["is_blacklist"] is True and seen["is_following"] is False
        assert await relation(runtime, me.id, other.id) == Relation.BLACKLIST
        assert follow_events(runtime) == []

    async def test_blacklist_changes_tell_the_recommender_about_both_users(
        self, client, runtime, me, other
    ):
        async def versions() -> list[int]:
            keys = [reco_keys.exclusions_version(str(p.id)) for p in (me, other)]
            return [int(v or 0) for v in await runtime.store.mget(keys)]

        await post(client, BLACKLISTS, me, other.id)
        assert await versions() == [1, 1]
        await post(client, BLACKLISTS, me, other.id)  # already: nothing changed
        assert await versions() == [1, 1]
        assert_empty_204(await client.delete(f"{BLACKLISTS}/{other.id}", headers=me.headers))
        assert await versions() == [2, 2]

    async def test_blacklist_ends_both_follows_and_adjusts_counters(
        self, client, runtime, me, other
    ):
        await follow(client, me, other.id)
        await follow(client, other, me.id)
        await blacklist(client, me, other.id)
        assert await counts(runtime, me.id) == (0, 0)
        assert await counts(runtime, other.id) == (0, 0)
        assert (await card(client, me.id, other))["is_following"] is False
        assert (await card(client, other.id, me))["fans_count"] == 0
        await blacklist(client, me, other.id)
        assert await counts(runtime, me.id) == (0, 0)

    async def test_blocked_user_cannot_follow_until_unblocked(self, client, runtime, me, other):
        await blacklist(client, me, other.id)
        assert_error(await post(client, FOLLOWINGS, other, me.id), 400)
        assert follow_events(runtime) == []
        assert_empty_204(await client.delete(f"{BLACKLISTS}/{other.id}", headers=me.headers))
        await follow(client, other, me.id)
        assert await counts(runtime, me.id) == (0, 1)
        assert len(follow_events(runtime)) == 1

    async def test_the_blocked_user_may_blacklist_back(self, client, runtime, me, other):
        await blacklist(client, me, other.id)
        await blacklist(client, other, me.id)
        assert await relation(runtime, other.id, me.id) == Relation.BLACKLIST
        # both blocked: neither can follow, and my follow attempt keeps my blacklist
        assert_error(await post(client, FOLLOWINGS, me, other.id), 400)
        assert await relation(runtime, me.id, other.id) == Relation.BLACKLIST

    @pytest.mark.parametrize("target", BAD_TARGETS)
    async def test_bad_target_is_400(self, client, me, target):
        assert_error(await post(client, BLACKLISTS, me, target), 400)

    async def test_unknown_and_self_are_400(self, client, runtime, me):
        assert_error(await post(client, BLACKLISTS, me, 123456789), 400)
        assert_error(await post(client, BLACKLISTS, me, me.id), 400)
        assert_error(await client.post(BLACKLISTS, json={}, headers=me.headers), 400)
        assert await db_rows(runtime) == 0

    async def test_requires_login(self, client, other):
        assert_error(await client.post(BLACKLISTS, json={"target": other.id}), 401)
        assert_error(await client.delete(f"{BLACKLISTS}/{other.id}"), 401)

    async def test_unblacklist_is_204_and_idempotent(self, client, runtime, me, other):
        await blacklist(client, me, other.id)
        for _ in range(2):
            assert_empty_204(await client.delete(f"{BLACKLISTS}/{other.id}", headers=me.headers))
        assert (await card(client, other.id, me))["is_blacklist"] is False
        assert await relation(runtime, me.id, other.id) == Relation.NONE
        assert_empty_204(await client.delete(f"{BLACKLISTS}/123456789", headers=me.headers))
        assert_empty_204(await client.delete(f"{BLACKLISTS}/{me.id}", headers=me.headers))

    async def test_unblacklist_leaves_a_follow_alone(self, client, runtime, me, other):
        await follow(client, me, other.id)
        assert_empty_204(await client.delete(f"{BLACKLISTS}/{other.id}", headers=me.headers))
        assert await relation(runtime, me.id, other.id) == Relation.FOLLOW
        assert await counts(runtime, other.id) == (0, 1)

    @pytest.mark.parametrize("path", ["abc", "0", "-3", "1.0"])
    async def test_path_that_does_not_match_is_404(self, client, me, path):
        assert_error(await client.delete(f"{BLACKLISTS}/{path}", headers=me.headers), 404)


# -- concurrency and the route map ----------------------------------------------------------------


async def test_fifty_concurrent_requests_keep_counters_equal_to_rows(client, runtime, make, me):
    targets = [await make() for _ in range(3)]
    rng = random.Random(2024)
    calls = []
    for _ in range(50):
        target = rng.choice(targets).id
        if rng.random() < 0.5:
            calls.append(post(client, FOLLOWINGS, me, target))
        else:
            calls.append(client.delete(f"{FOLLOWINGS}/{target}", headers=me.headers))
    responses = await asyncio.gather(*calls)
    assert {r.status_code for r in responses} <= {201, 204}, [r.text for r in responses]
    following = [t for t in targets if await relation(runtime, me.id, t.id) == Relation.FOLLOW]
    assert await counts(runtime, me.id) == (len(following), 0)
    for target in targets:
        assert await counts(runtime, target.id) == (0, int(target in following))
    data = await page(client, FOLLOWINGS, me)
    assert sorted(ids(data)) == sorted(t.id for t in following)
    assert len(follow_events(runtime)) >= len(following)


async def test_route_map_names(client):
    routes = (await client.get("/app/")).json()
    assert routes["user.followings"] == "/v1_0/user/followings"
    assert routes["user.followings_add"] == "/v1_0/user/followings"
    assert routes["user.followings_delete"] == "/v1_0/user/followings/<target>"
    assert routes["user.followers"] == "/v1_0/user/followers"
    assert routes["user.blacklists"] == "/v1_0/user/blacklists"
    assert routes["user.blacklists_delete"] == "/v1_0/user/blacklists/<target>"
