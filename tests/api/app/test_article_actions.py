"""HTTP tests of collect, like, dislike, report and reading time (app.md E35, E40-E46).

Every test starts from empty tables and an empty Redis; the app commits for real.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.article.test_attitude import attitude_rows, make_article, withdraw
from toutiao.article import attitude as attitude_service
from toutiao.models import Collection, Report
from toutiao.models.enums import ArticleStatus, Attitude
from toutiao.notify import LIKING
from toutiao.recommend import keys as reco_keys
from toutiao.stats import counters as c

BASE = "/app/v1_0"
COLLECTIONS = f"{BASE}/article/collections"
LIKINGS = f"{BASE}/article/likings"
DISLIKES = f"{BASE}/article/dislikes"
REPORTS = f"{BASE}/article/reports"
DURATIONS = f"{BASE}/reading/durations"
UNKNOWN = 987654321

BAD_TARGETS = [None, "", "abc", 0, -1, "-1", True, 1.5, "1.5", [1], {"id": 1}, 2**63]


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message"}, body
    assert isinstance(body["message"], str) and body["message"]


def assert_empty_204(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""


def assert_created(response: httpx.Response, data: dict[str, Any]) -> None:
    assert response.status_code == 201, response.text
    assert response.json() == {"message": "OK", "data": data}


async def events(runtime, action: str) -> list[dict[str, str]]:
    return [f for _, f in await runtime.store.xrange(reco_keys.EVENTS) if f["action"] == action]


@pytest.fixture
async def people(runtime, factory) -> dict[str, Any]:
    runtime.notifier.sent.clear()
    rows = {name: await factory.user(name=name) for name in ("author", "reader")}
    ids = {name: row.user_id for name, row in rows.items()}
    return {
        **ids,
        "headers": {name: factory.headers(uid) for name, uid in ids.items()},
    }


@pytest.fixture
async def article(runtime, people) -> int:
    return await make_article(runtime, people["author"], title="Liked one")


@pytest.fixture
def reader(people) -> dict[str, str]:
    return people["headers"]["reader"]


# -- authentication -------------------------------------------------------------------------

WRITES = [
    ("POST", COLLECTIONS, True),
    ("DELETE", COLLECTIONS, False),
    ("POST", LIKINGS, True),
    ("DELETE", LIKINGS, False),
    ("POST", DISLIKES, True),
    ("DELETE", DISLIKES, False),
    ("POST", REPORTS, True),
]


@pytest.mark.parametrize(("method", "path", "with_body"), WRITES)
async def test_login_required(client, factory, people, article, method, path, with_body):
    refresh = factory.headers(people["reader"], refresh=True)
    for headers in (
        {},
        refresh,
        {"Authorization": "Bearer nope"},
        {"Authorization": "Anony dev-1"},
    ):
        if with_body:
            response = await client.request(
                method, path, json={"target": article, "type": 1}, headers=headers
            )
        else:
            response = await client.request(method, f"{path}/{article}", headers=headers)
        assert_error(response, 401)


# -- E40, E41 collections -------------------------------------------------------------------


async def test_collect_and_uncollect(client, runtime, people, article, reader):
    for _ in range(2):  # idempotent
        assert_created(
            await client.post(COLLECTIONS, json={"target": str(article)}, headers=reader),
            {"target": article},
        )
    assert await c.ARTICLE_COLLECTS.get(runtime.store, article) == 1
    assert await c.USER_COLLECTS.get(runtime.store, people["reader"]) == 1
    for _ in range(2):
        assert_empty_204(await client.delete(f"{COLLECTIONS}/{article}", headers=reader))
    assert await c.ARTICLE_COLLECTS.get(runtime.store, article) == 0
    assert await c.USER_COLLECTS.get(runtime.store, people["reader"]) == 0
    assert_empty_204(await client.delete(f"{COLLECTIONS}/{UNKNOWN}", headers=reader))


async def test_collect_trace_header_is_optional_and_recorded(
    client, runtime, people, article, reader
):
    other = await make_article(runtime, people["author"])
    await client.post(
        COLLECTIONS, json={"target": article}, headers={**reader, "Trace": "opaque-collect"}
    )
    await client.post(COLLECTIONS, json={"target": other}, headers=reader)
    params = {e["article_id"]: e["param"] for e in await events(runtime, "collect")}
    assert params == {str(article): "opaque-collect", str(other): ""}


@pytest.mark.parametrize("target", BAD_TARGETS)
async def test_collect_bad_targets(client, reader, target):
    assert_error(await client.post(COLLECTIONS, json={"target": target}, headers=reader), 400)


async def test_collect_unknown_or_unpublished(client, runtime, people, reader):
    draft = await make_article(runtime, people["author"], status=ArticleStatus.PENDING)
    for target in (UNKNOWN, draft):
        assert_error(await client.post(COLLECTIONS, json={"target": target}, headers=reader), 400)
    assert_error(await client.post(COLLECTIONS, json={}, headers=reader), 400)
    assert_error(await client.post(COLLECTIONS, content=b"{not json", headers=reader), 400)
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Collection)) == 0


@pytest.mark.parametrize("path", [COLLECTIONS, LIKINGS, DISLIKES])
@pytest.mark.parametrize("target", ["abc", "0", "-1", "1.5", "12345678901234567890"])
async def test_delete_paths_that_do_not_match(client, reader, path, target):
    response = await client.delete(f"{path}/{target}", headers=reader)
    assert_error(response, 404)


# -- E42-E45 likes and dislikes -------------------------------------------------------------


async def attitude_of(runtime, user_id: int, article_id: int) -> int:
    async with runtime.db.read_session() as session:
        return (await attitude_service.attitudes_of(runtime, session, user_id, [article_id]))[
            article_id
        ]


async def like_counts(runtime, article_id: int, author_id: int) -> tuple[int, int, int]:
    return (
        await c.ARTICLE_LIKES.get(runtime.store, article_id),
        await c.ARTICLE_DISLIKES.get(runtime.store, article_id),
        await c.USER_LIKED.get(runtime.store, author_id),
    )


async def test_like_dislike_and_their_removal(client, runtime, people, article, reader):
    author = people["author"]
    steps = [
        ("POST", LIKINGS, 1, (1, 0, 1)),
        ("POST", LIKINGS, 1, (1, 0, 1)),  # idempotent
        ("POST", DISLIKES, 0, (0, 1, 0)),  # replaces the like
        ("DELETE", LIKINGS, 0, (0, 1, 0)),  # no like to remove: attitude stays 0
        ("POST", LIKINGS, 1, (1, 0, 1)),  # replaces the dislike
        ("DELETE", DISLIKES, 1, (1, 0, 1)),  # no dislike to remove: attitude stays 1
        ("DELETE", LIKINGS, -1, (0, 0, 0)),
        ("DELETE", LIKINGS, -1, (0, 0, 0)),
        ("POST", DISLIKES, 0, (0, 1, 0)),
        ("POST", DISLIKES, 0, (0, 1, 0)),
        ("DELETE", DISLIKES, -1, (0, 0, 0)),
    ]
    for method, path, state, expected in steps:
        if method == "POST":
            assert_created(
                await client.post(path, json={"target": article}, headers=reader),
                {"target": article},
            )
        else:
            assert_empty_204(await client.delete(f"{path}/{article}", headers=reader))
        assert await attitude_of(runtime, people["reader"], article) == state, (method, path)
        assert await like_counts(runtime, article, author) == expected, (method, path)
    # the two new likes notified (steps 1 and 5); repeats, dislikes and removals did not
    assert len([s for s in runtime.notifier.sent if s[0] == LIKING]) == 2


async def test_dislike_changes_tell_the_recommender(client, runtime, people, article, reader):
    key = reco_keys.exclusions_version(str(people["reader"]))
    steps = [  # (method, path, version after)
        ("POST", LIKINGS, 0),  # likes don't hide anything
        ("POST", DISLIKES, 1),
        ("POST", DISLIKES, 1),  # idempotent: nothing changed
        ("DELETE", LIKINGS, 1),
        ("POST", LIKINGS, 2),  # replaces the dislike
        ("POST", DISLIKES, 3),
        ("DELETE", DISLIKES, 4),
    ]
    for method, path, version in steps:
        if method == "POST":
            await client.post(path, json={"target": article}, headers=reader)
        else:
            await client.delete(f"{path}/{article}", headers=reader)
        assert int(await runtime.store.get(key) or 0) == version, (method, path)


async def test_liking_notify_only_for_new_likes_of_others(client, runtime, people, article, reader):
    author_headers = people["headers"]["author"]
    await client.post(LIKINGS, json={"target": article}, headers=reader)
    await client.post(LIKINGS, json={"target": article}, headers=reader)
    await client.post(LIKINGS, json={"target": article}, headers=author_headers)  # own article
    sent = [s for s in runtime.notifier.sent if s[0] == LIKING]
    assert len(sent) == 1
    event, payload, room = sent[0]
    assert room == str(people["author"])
    assert payload["user_id"] == people["reader"] and payload["user_name"] == "reader"
    assert payload["art_id"] == article and payload["art_title"] == "Liked one"
    assert isinstance(payload["timestamp"], int)
    await client.delete(f"{LIKINGS}/{article}", headers=reader)
    await client.post(LIKINGS, json={"target": article}, headers=reader)  # a new like again
    assert len([s for s in runtime.notifier.sent if s[0] == LIKING]) == 2
    await client.post(DISLIKES, json={"target": article}, headers=reader)  # never notifies
    assert len([s for s in runtime.notifier.sent if s[0] == LIKING]) == 2


@pytest.mark.parametrize("path", [LIKINGS, DISLIKES])
async def test_bad_and_unknown_targets(client, runtime, people, reader, path):
    banned = await make_article(runtime, people["author"], status=ArticleStatus.BANNED)
    for target in [*BAD_TARGETS, UNKNOWN, banned]:
        assert_error(await client.post(path, json={"target": target}, headers=reader), 400)
    assert_empty_204(await client.delete(f"{path}/{UNKNOWN}", headers=reader))
    assert await attitude_rows(runtime, banned) == {}


async def test_withdrawn_article_can_still_be_unliked(client, runtime, people, article, reader):
    await client.post(LIKINGS, json={"target": article}, headers=reader)
    await withdraw(runtime, article)
    assert_error(await client.post(LIKINGS, json={"target": article}, headers=reader), 400)
    assert_empty_204(await client.delete(f"{LIKINGS}/{article}", headers=reader))
    assert await like_counts(runtime, article, people["author"]) == (0, 0, 0)


async def test_fifty_concurrent_like_unlike_requests(client, runtime, people, article, reader):
    """The counters equal the rows after a burst, on whichever engine the suite runs."""
    requests = ["like" if i % 2 == 0 else "unlike" for i in range(50)]
    random.shuffle(requests)

    async def send(kind: str) -> httpx.Response:
        await asyncio.sleep(random.random() / 100)
        if kind == "like":
            return await client.post(LIKINGS, json={"target": article}, headers=reader)
        return await client.delete(f"{LIKINGS}/{article}", headers=reader)

    responses = await asyncio.gather(*(send(kind) for kind in requests))
    assert sorted({r.status_code for r in responses}) == [201, 204], [r.text for r in responses]
    likes = (await attitude_rows(runtime, article)).get(Attitude.LIKE, 0)
    assert await like_counts(runtime, article, people["author"]) == (likes, 0, likes)
    assert await attitude_of(runtime, people["reader"], article) == (1 if likes else -1)


# -- E46 reports ----------------------------------------------------------------------------


async def test_report_every_type_once(client, runtime, people, factory):
    for report_type in range(9):
        target = await make_article(runtime, people["author"])
        body = {"target": str(target), "type": report_type, "remark": "why"}
        assert_created(
            await client.post(REPORTS, json=body, headers=people["headers"]["reader"]),
            {"target": target, "type": report_type},
        )
    async with runtime.db.session() as session:
        rows = (
            await session.execute(select(Report.type, Report.remark).order_by(Report.report_id))
        ).all()
    assert [(int(t), r) for t, r in rows] == [(0, "why")] + [(t, None) for t in range(1, 9)]


async def test_second_report_is_a_conflict(client, runtime, article, reader):
    assert_created(
        await client.post(REPORTS, json={"target": article, "type": 2}, headers=reader),
        {"target": article, "type": 2},
    )
    for report_type in (2, 0, 5):
        assert_error(
            await client.post(
                REPORTS, json={"target": article, "type": report_type}, headers=reader
            ),
            409,
        )
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 1


ARTICLE = object()  # stands for the fixture's article id


@pytest.mark.parametrize(
    "body",
    [
        {"type": 1},
        {"target": ARTICLE},
        {"target": "abc", "type": 1},
        {"target": ARTICLE, "type": 9},
        {"target": ARTICLE, "type": -1},
        {"target": ARTICLE, "type": "x"},
        {"target": ARTICLE, "type": 1.5},
        {"target": ARTICLE, "type": True},
        {"target": ARTICLE, "type": None},
        {"target": ARTICLE, "type": 0, "remark": "x" * 201},
        {"target": ARTICLE, "type": 0, "remark": 12},
        {"target": ARTICLE, "type": 3, "remark": "x" * 201},
    ],
)
async def test_bad_reports(client, runtime, article, reader, body):
    body = {k: article if v is ARTICLE else v for k, v in body.items()}
    assert_error(await client.post(REPORTS, json=body, headers=reader), 400)
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 0


async def test_report_remark_limits_and_unknown_articles(client, runtime, people, article, reader):
    body = {"target": article, "type": 0, "remark": "长" * 200}
    assert_created(
        await client.post(REPORTS, json=body, headers=reader), {"target": article, "type": 0}
    )
    deleted = await make_article(runtime, people["author"], status=ArticleStatus.DELETED)
    for target in (UNKNOWN, deleted):
        assert_error(
            await client.post(REPORTS, json={"target": target, "type": 1}, headers=reader), 400
        )
    async with runtime.db.session() as session:
        assert await session.scalar(select(Report.remark)) == "长" * 200


# -- E35 reading durations ------------------------------------------------------------------


async def test_reading_duration_anonymous_and_signed_in(
    client, runtime, factory, people, article, reader
):
    trace = {"Trace": "opaque-read"}
    response = await client.post(DURATIONS, json={"duration": 42, "art_id": article}, headers=trace)
    assert response.status_code == 201
    assert response.json() == {"message": "OK"}
    response = await client.post(
        DURATIONS, json={"duration": "7", "art_id": str(article)}, headers={**trace, **reader}
    )
    assert response.status_code == 201 and response.json() == {"message": "OK"}
    anonymous = {"Authorization": "Anony device-9", **trace}
    assert (
        await client.post(DURATIONS, json={"duration": 0, "art_id": article}, headers=anonymous)
    ).status_code == 201
    reads = await events(runtime, "read")
    assert [(e["user_id"], e["duration"], e["param"]) for e in reads] == [
        ("", "42.000", "opaque-read"),
        (str(people["reader"]), "7.000", "opaque-read"),
        ("", "0.000", "opaque-read"),
    ]
    assert {e["article_id"] for e in reads} == {str(article)}


async def test_reading_duration_requires_the_trace_header(client, article):
    for headers in ({}, {"Trace": ""}, {"Trace": "   "}):
        assert_error(
            await client.post(DURATIONS, json={"duration": 1, "art_id": article}, headers=headers),
            400,
        )


@pytest.mark.parametrize(
    "body",
    [
        {"duration": -1},
        {"duration": 86401},
        {"duration": 1.5},
        {"duration": "abc"},
        {"duration": None},
        {"duration": True},
        {"art_id": None},
        {"art_id": 0},
        {"art_id": UNKNOWN},
        {"art_id": "x"},
    ],
)
async def test_reading_duration_bad_bodies(client, runtime, article, body):
    full = {"duration": 10, "art_id": article, **body}
    assert_error(await client.post(DURATIONS, json=full, headers={"Trace": "t"}), 400)
    assert await events(runtime, "read") == []


async def test_reading_duration_limits_and_tokens(client, runtime, factory, people, article):
    trace = {"Trace": "t"}
    assert (
        await client.post(DURATIONS, json={"duration": 86400, "art_id": article}, headers=trace)
    ).status_code == 201
    pending = await make_article(runtime, people["author"], status=ArticleStatus.PENDING)
    assert_error(
        await client.post(DURATIONS, json={"duration": 1, "art_id": pending}, headers=trace), 400
    )
    assert_error(await client.post(DURATIONS, json={"duration": 1}, headers=trace), 400)
    for bad in (
        {"Authorization": "Bearer broken"},
        factory.headers(people["reader"], refresh=True),
    ):
        assert_error(
            await client.post(
                DURATIONS, json={"duration": 1, "art_id": article}, headers={**trace, **bad}
            ),
            401,
        )
