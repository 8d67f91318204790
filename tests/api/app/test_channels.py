"""HTTP tests of the channel endpoints E24-E31 (app.md; §5 items 5, 6, 18, 25, 26, 27).

Every test starts from empty tables and an empty Redis; the app commits for real, so each
assertion is what a client would see.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import insert, select

from toutiao.channel import service as channel_service
from toutiao.kit.db import Replica, create_engine
from toutiao.models import Channel, User, UserChannel
from toutiao.user.tokens import issue_token

BASE = "/app/v1_0"
ALL = f"{BASE}/channels"
MY = f"{BASE}/user/channels"
RECOMMENDED = {"id": 0, "name": "推荐"}

# Index order = configured sequence; the first two are the defaults, "hidden" is not visible.
NAMES = ["html", "css", "js", "python", "java", "go", "hidden"]
UNKNOWN_ID = 987654


# -- helpers ------------------------------------------------------------------------------


def one(path: str, channel_id: int) -> str:
    return f"{path}/{channel_id}"


def assert_error(response: httpx.Response, status: int) -> None:
    """The contract's error body: ``{"message": "<string>"}``, nothing else (never 422)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message"}, body
    assert isinstance(body["message"], str), body
    assert body["message"]


def assert_empty_204(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""


def assert_only_ints(channels: list[dict[str, Any]]) -> None:
    for channel in channels:
        assert type(channel["id"]) is int, channel
        assert isinstance(channel["name"], str)


async def delete_json(
    client: httpx.AsyncClient, url: str, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.request("DELETE", url, json=body, headers=headers)


async def my_channels(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """GET /user/channels: checks the envelope and that "推荐" comes first; returns the rest."""
    response = await client.get(MY, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "data"}
    assert body["message"] == "OK"
    assert set(body["data"]) == {"channels"}
    channels = body["data"]["channels"]
    assert channels[0] == RECOMMENDED
    assert all(set(c) == {"id", "name"} for c in channels)
    assert_only_ints(channels)
    assert [c["id"] for c in channels[1:]].count(0) == 0
    return channels[1:]


async def my_ids(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> list[int]:
    return [c["id"] for c in await my_channels(client, headers)]


def items(*pairs: tuple[int, int]) -> dict[str, Any]:
    return {"channels": [{"id": i, "seq": s} for i, s in pairs]}


@pytest.fixture
async def ch(factory) -> dict[str, int]:
    """Channel name -> id."""
    rows = await factory.channels(NAMES, defaults=2, hidden=("hidden",))
    return {row.channel_name: row.channel_id for row in rows}


@pytest.fixture
async def user(factory) -> dict[str, str]:
    """Auth headers of a fresh user."""
    row = await factory.user()
    return factory.headers(row.user_id)


@pytest.fixture
def defaults(ch) -> list[int]:
    return [ch["html"], ch["css"]]


# -- E31 GET /channels ----------------------------------------------------------------------


async def test_all_channels_lists_visible_channels_in_order(client, ch):
    response = await client.get(ALL)
    assert response.status_code == 200
    assert response.json() == {
        "message": "OK",
        "data": {
            "channels": [{"id": ch[name], "name": name} for name in NAMES if name != "hidden"]
        },
    }
    assert_only_ints(response.json()["data"]["channels"])
    # ids are written as JSON integers, not strings
    assert f'"id":{ch["html"]}' in response.text.replace(" ", "")


async def test_all_channels_ordered_by_sequence_then_id(client, runtime):
    rows = [
        Channel(channel_name="s2-first", sequence=2, is_visible=True, is_default=False),
        Channel(channel_name="s1-first", sequence=1, is_visible=True, is_default=False),
        Channel(channel_name="s1-second", sequence=1, is_visible=True, is_default=False),
        Channel(channel_name="s0", sequence=0, is_visible=True, is_default=True),
        Channel(channel_name="s0-hidden", sequence=0, is_visible=False, is_default=True),
    ]
    async with runtime.db.session() as session:
        for row in rows:  # one flush each: ids increase in this order
            session.add(row)
            await session.flush()
        await session.commit()
    response = await client.get(ALL)
    assert response.status_code == 200
    names = [c["name"] for c in response.json()["data"]["channels"]]
    assert names == ["s0", "s1-first", "s1-second", "s2-first"]
    ids = [c["id"] for c in response.json()["data"]["channels"]]
    assert 0 not in ids


async def test_all_channels_empty(client, runtime):
    response = await client.get(ALL)
    assert response.status_code == 200
    assert response.json() == {"message": "OK", "data": {"channels": []}}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Bearer", "Anony device-123", "Basic abc"],
)
async def test_all_channels_ignores_authorization(client, ch, authorization):
    response = await client.get(ALL, headers={"Authorization": authorization})
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]["channels"]) == len(NAMES) - 1


async def test_all_channels_does_not_include_recommended_even_after_user_list(client, ch, user):
    await my_channels(client, user)
    ids = [c["id"] for c in (await client.get(ALL)).json()["data"]["channels"]]
    assert 0 not in ids


# -- E24 GET /user/channels -------------------------------------------------------------------


async def test_my_channels_anonymous_gets_recommended_then_defaults(client, ch):
    response = await client.get(MY)
    assert response.status_code == 200
    assert response.json() == {
        "message": "OK",
        "data": {
            "channels": [
                RECOMMENDED,
                {"id": ch["html"], "name": "html"},
                {"id": ch["css"], "name": "css"},
            ]
        },
    }


async def test_my_channels_anony_header_is_anonymous(client, ch, defaults):
    assert await my_ids(client, {"Authorization": "Anony 9f8e7d6c"}) == defaults


async def test_my_channels_anonymous_without_channels(client, runtime):
    assert await my_channels(client) == []


async def test_my_channels_logged_in_without_saved_channels_gets_defaults(
    client, ch, user, defaults
):
    assert await my_ids(client, user) == defaults


async def test_my_channels_after_saving_are_ordered_by_seq(client, ch, user):
    response = await client.put(
        MY, json=items((ch["go"], 1), (ch["js"], 3), (ch["python"], 2)), headers=user
    )
    assert response.status_code == 201
    channels = await my_channels(client, user)
    assert channels == [
        {"id": ch["go"], "name": "go"},
        {"id": ch["python"], "name": "python"},
        {"id": ch["js"], "name": "js"},
    ]


async def test_my_channels_equal_seq_ties_broken_by_id(client, ch, user):
    response = await client.put(
        MY, json=items((ch["java"], 1), (ch["js"], 1), (ch["html"], 0)), headers=user
    )
    assert response.status_code == 201
    assert await my_ids(client, user) == [ch["html"], ch["js"], ch["java"]]


async def test_my_channels_saved_list_replaces_defaults_entirely(client, ch, user):
    await client.post(MY, json=items((ch["java"], 1)), headers=user)
    assert await my_ids(client, user) == [ch["java"]]


async def test_my_channels_back_to_defaults_when_everything_removed(client, ch, user, defaults):
    await client.put(MY, json=items((ch["java"], 1), (ch["go"], 2)), headers=user)
    response = await delete_json(client, MY, {"channels": [ch["java"], ch["go"]]}, user)
    assert_empty_204(response)
    assert await my_ids(client, user) == defaults


def _expired(runtime, user_id: int) -> str:
    return issue_token(runtime.settings, user_id, now=datetime.now(UTC) - timedelta(days=1))


def _foreign(user_id: int) -> str:
    return jwt.encode(
        {"user_id": user_id, "exp": datetime.now(UTC) + timedelta(hours=1)},
        "not-the-secret-" * 3,
        algorithm="HS256",
    )


@pytest.mark.parametrize("kind", ["garbage", "empty", "expired", "wrong_secret", "refresh"])
async def test_my_channels_bad_bearer_token_is_401(client, ch, factory, runtime, kind):
    row = await factory.user()
    authorization = {
        "garbage": "Bearer abc.def.ghi",
        "empty": "Bearer",
        "expired": f"Bearer {_expired(runtime, row.user_id)}",
        "wrong_secret": f"Bearer {_foreign(row.user_id)}",
        "refresh": factory.headers(row.user_id, refresh=True)["Authorization"],
    }[kind]
    assert_error(await client.get(MY, headers={"Authorization": authorization}), 401)


# -- E25 POST /user/channels ------------------------------------------------------------------


async def test_post_adds_and_echoes(client, ch, user):
    body = items((ch["js"], 2), (ch["python"], 1))
    response = await client.post(MY, json=body, headers=user)
    assert response.status_code == 201, response.text
    assert response.json() == {"message": "OK", "data": body}
    assert await my_ids(client, user) == [ch["python"], ch["js"]]


async def test_post_accepts_decimal_string_ids_and_echoes_integers(client, ch, user):
    response = await client.post(
        MY, json={"channels": [{"id": str(ch["js"]), "seq": 1}]}, headers=user
    )
    assert response.status_code == 201, response.text
    echoed = response.json()["data"]["channels"]
    assert echoed == [{"id": ch["js"], "seq": 1}]
    assert type(echoed[0]["id"]) is int
    assert await my_ids(client, user) == [ch["js"]]


async def test_post_is_incremental(client, ch, user):
    assert (await client.post(MY, json=items((ch["js"], 1)), headers=user)).status_code == 201
    assert (await client.post(MY, json=items((ch["go"], 0)), headers=user)).status_code == 201
    assert await my_ids(client, user) == [ch["go"], ch["js"]]


async def test_post_conflict_saves_nothing(client, ch, user):
    assert (await client.post(MY, json=items((ch["js"], 1)), headers=user)).status_code == 201
    response = await client.post(
        MY, json=items((ch["go"], 0), (ch["js"], 5), (ch["java"], 2)), headers=user
    )
    assert_error(response, 409)
    # all or nothing: go and java were not added, js kept its seq
    assert await my_ids(client, user) == [ch["js"]]
    response = await client.put(one(MY, ch["python"]), json={"seq": 3}, headers=user)
    assert response.status_code == 201
    assert await my_ids(client, user) == [ch["js"], ch["python"]]


async def test_post_conflict_on_a_single_existing_channel(client, ch, user):
    assert (await client.post(MY, json=items((ch["js"], 1)), headers=user)).status_code == 201
    assert_error(await client.post(MY, json=items((ch["js"], 1)), headers=user), 409)
    assert await my_ids(client, user) == [ch["js"]]


async def test_post_after_removal_adds_again(client, ch, user):
    assert (
        await client.post(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=user)
    ).status_code == 201
    assert_empty_204(await client.delete(one(MY, ch["js"]), headers=user))
    response = await client.post(MY, json=items((ch["js"], 7)), headers=user)
    assert response.status_code == 201, response.text
    assert await my_ids(client, user) == [ch["go"], ch["js"]]


async def test_post_a_default_channel_is_not_a_conflict_when_nothing_saved(client, ch, user):
    # defaults are shown, but they are not saved user channels
    response = await client.post(MY, json=items((ch["html"], 1)), headers=user)
    assert response.status_code == 201, response.text
    assert await my_ids(client, user) == [ch["html"]]


# -- E26 PATCH /user/channels -----------------------------------------------------------------


async def test_patch_upserts_and_keeps_the_others(client, ch, user):
    await client.put(MY, json=items((ch["html"], 1), (ch["css"], 2), (ch["js"], 3)), headers=user)
    body = items((ch["js"], 0), (ch["go"], 5))
    response = await client.patch(MY, json=body, headers=user)
    assert response.status_code == 201, response.text
    assert response.json() == {"message": "OK", "data": body}
    assert await my_ids(client, user) == [ch["js"], ch["html"], ch["css"], ch["go"]]


async def test_patch_with_nothing_saved_saves_only_the_sent_channels(client, ch, user):
    response = await client.patch(MY, json=items((ch["go"], 1)), headers=user)
    assert response.status_code == 201
    assert await my_ids(client, user) == [ch["go"]]


async def test_patch_same_list_twice_is_fine(client, ch, user):
    body = items((ch["go"], 1), (ch["js"], 2))
    assert (await client.patch(MY, json=body, headers=user)).status_code == 201
    assert (await client.patch(MY, json=body, headers=user)).status_code == 201
    assert await my_ids(client, user) == [ch["go"], ch["js"]]


async def test_patch_revives_a_removed_channel(client, ch, user):
    await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=user)
    await delete_json(client, MY, {"channels": [ch["js"]]}, user)
    assert (await client.patch(MY, json=items((ch["js"], 3)), headers=user)).status_code == 201
    assert await my_ids(client, user) == [ch["go"], ch["js"]]


# -- E27 PUT /user/channels -------------------------------------------------------------------


async def test_put_replaces_the_whole_list(client, ch, user):
    await client.put(MY, json=items((ch["html"], 1), (ch["css"], 2), (ch["js"], 3)), headers=user)
    body = items((ch["go"], 2), (ch["css"], 1))
    response = await client.put(MY, json=body, headers=user)
    assert response.status_code == 201, response.text
    assert response.json() == {"message": "OK", "data": body}
    assert await my_ids(client, user) == [ch["css"], ch["go"]]


async def test_put_then_post_of_a_replaced_channel_is_not_a_conflict(client, ch, user):
    await client.put(MY, json=items((ch["js"], 1)), headers=user)
    await client.put(MY, json=items((ch["go"], 1)), headers=user)
    assert (await client.post(MY, json=items((ch["js"], 2)), headers=user)).status_code == 201
    assert await my_ids(client, user) == [ch["go"], ch["js"]]


async def test_put_same_list_is_idempotent(client, ch, user):
    body = items((ch["go"], 2), (ch["js"], 1))
    for _ in range(2):
        response = await client.put(MY, json=body, headers=user)
        assert response.status_code == 201
    assert await my_ids(client, user) == [ch["js"], ch["go"]]


# -- E28 DELETE /user/channels ----------------------------------------------------------------


async def test_delete_batch_removes_and_ignores_unowned(client, ch, user):
    await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2), (ch["java"], 3)), headers=user)
    response = await delete_json(
        client, MY, {"channels": [ch["js"], ch["python"], ch["java"]]}, user
    )
    assert_empty_204(response)
    assert await my_ids(client, user) == [ch["go"]]


async def test_delete_batch_ignores_ids_that_are_not_channels(client, ch, user):
    # E28: "ids the user does not have are ignored"; an id that names no channel is one of them.
    # (The shared rule before E24 could also be read as 400 here; this pins the chosen reading.)
    await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=user)
    assert_empty_204(
        await delete_json(client, MY, {"channels": [UNKNOWN_ID, ch["hidden"], ch["js"]]}, user)
    )
    assert await my_ids(client, user) == [ch["go"]]


async def test_delete_batch_accepts_decimal_strings(client, ch, user):
    await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=user)
    assert_empty_204(await delete_json(client, MY, {"channels": [str(ch["js"])]}, user))
    assert await my_ids(client, user) == [ch["go"]]


async def test_delete_batch_with_nothing_saved(client, ch, user, defaults):
    assert_empty_204(await delete_json(client, MY, {"channels": [ch["html"]]}, user))
    assert await my_ids(client, user) == defaults


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"channels": []},
        {"channels": None},
        {"channels": "1"},
        {"channels": 1},
        {"channels": {"id": 1}},
        {"channels": ["abc"]},
        {"channels": [1.5]},
        {"channels": [True]},
        {"channels": [None]},
        {"channels": [0]},
        {"channels": [-1]},
        {"channels": [{"id": 1}]},
        [1, 2],
        "channels",
    ],
    ids=lambda b: json.dumps(b, ensure_ascii=False),
)
async def test_delete_batch_validation(client, ch, user, body):
    await client.put(MY, json=items((ch["js"], 1)), headers=user)
    assert_error(await delete_json(client, MY, body, user), 400)
    assert await my_ids(client, user) == [ch["js"]]


async def test_delete_batch_without_body_is_400(client, ch, user):
    assert_error(await client.delete(MY, headers=user), 400)


async def test_delete_batch_malformed_json_is_400(client, ch, user):
    response = await client.request(
        "DELETE",
        MY,
        content=b'{"channels": [1,',
        headers={**user, "Content-Type": "application/json"},
    )
    assert_error(response, 400)


# -- E29 PUT /user/channels/:target -----------------------------------------------------------


async def test_put_one_adds_a_channel_not_yet_saved(client, ch, user):
    response = await client.put(one(MY, ch["go"]), json={"seq": 4}, headers=user)
    assert response.status_code == 201, response.text
    assert response.json() == {"message": "OK", "data": {"id": ch["go"], "seq": 4}}
    assert type(response.json()["data"]["id"]) is int
    assert await my_ids(client, user) == [ch["go"]]


async def test_put_one_changes_only_that_channels_order(client, ch, user):
    await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2), (ch["java"], 3)), headers=user)
    response = await client.put(one(MY, ch["java"]), json={"seq": 0}, headers=user)
    assert response.status_code == 201
    assert response.json()["data"] == {"id": ch["java"], "seq": 0}
    assert await my_ids(client, user) == [ch["java"], ch["js"], ch["go"]]


async def test_put_one_revives_a_removed_channel(client, ch, user):
    await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=user)
    assert_empty_204(await client.delete(one(MY, ch["js"]), headers=user))
    assert (await client.put(one(MY, ch["js"]), json={"seq": 9}, headers=user)).status_code == 201
    assert await my_ids(client, user) == [ch["go"], ch["js"]]


@pytest.mark.parametrize("target", ["unknown", "hidden", "huge"])
async def test_put_one_unknown_channel_is_400(client, ch, user, defaults, target):
    channel_id = {"unknown": UNKNOWN_ID, "hidden": ch["hidden"], "huge": 9999999999999999999}[
        target
    ]
    assert_error(await client.put(one(MY, channel_id), json={"seq": 1}, headers=user), 400)
    assert await my_ids(client, user) == defaults


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"seq": -1},
        {"seq": None},
        {"seq": 1.5},
        {"seq": True},
        {"seq": "abc"},
        {"seq": [1]},
        {"seq": 2**31},
        {"seq": 2**70},
        [1],
        "1",
    ],
    ids=lambda b: json.dumps(b),
)
async def test_put_one_bad_seq_is_400(client, ch, user, defaults, body):
    assert_error(await client.put(one(MY, ch["go"]), json=body, headers=user), 400)
    assert await my_ids(client, user) == defaults


@pytest.mark.parametrize("path", ["one", "list"])
async def test_seq_with_non_ascii_digits_is_400(client, ch, user, defaults, path):
    if path == "one":
        response = await client.put(one(MY, ch["go"]), json={"seq": "\u0661"}, headers=user)
    else:
        response = await client.put(
            MY, json={"channels": [{"id": ch["go"], "seq": "\u0661"}]}, headers=user
        )
    assert_error(response, 400)
    assert await my_ids(client, user) == defaults


async def test_put_one_without_body_is_400(client, ch, user):
    assert_error(await client.put(one(MY, ch["go"]), headers=user), 400)


async def test_put_one_malformed_json_is_400(client, ch, user):
    response = await client.put(
        one(MY, ch["go"]), content=b"{seq: 1}", headers={**user, "Content-Type": "application/json"}
    )
    assert_error(response, 400)


async def test_put_one_seq_zero_is_accepted(client, ch, user):
    response = await client.put(one(MY, ch["go"]), json={"seq": 0}, headers=user)
    assert response.status_code == 201
    assert response.json()["data"] == {"id": ch["go"], "seq": 0}


# -- E30 DELETE /user/channels/:target --------------------------------------------------------


async def test_delete_one_removes_and_is_idempotent(client, ch, user):
    await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=user)
    assert_empty_204(await client.delete(one(MY, ch["js"]), headers=user))
    assert await my_ids(client, user) == [ch["go"]]
    assert_empty_204(await client.delete(one(MY, ch["js"]), headers=user))
    assert await my_ids(client, user) == [ch["go"]]


@pytest.mark.parametrize("target", ["unowned", "unknown", "huge"])
async def test_delete_one_not_mine_is_204(client, ch, user, target):
    await client.put(MY, json=items((ch["js"], 1)), headers=user)
    channel_id = {"unowned": ch["go"], "unknown": UNKNOWN_ID, "huge": 9999999999999999999}[target]
    assert_empty_204(await client.delete(one(MY, channel_id), headers=user))
    assert await my_ids(client, user) == [ch["js"]]


# -- paths that do not match ------------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["abc", "0", "-1", "01", "1.5", "1e3", "%20", "99999999999999999999"]
)
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_non_matching_target_is_404_json(client, ch, user, method, target):
    response = await client.request(method, f"{MY}/{target}", json={"seq": 1}, headers=user)
    assert_error(response, 404)


async def test_wrong_method_is_405_json(client, ch, user):
    assert_error(await client.post(one(MY, ch["go"]), json={"seq": 1}, headers=user), 405)
    assert_error(await client.delete(ALL, headers=user), 405)


# -- validation shared by POST / PATCH / PUT --------------------------------------------------

WRITE_METHODS = ["POST", "PATCH", "PUT"]


def _bad_bodies(ch: dict[str, int]) -> dict[str, Any]:
    js, go = ch["js"], ch["go"]
    return {
        "unknown id": items((UNKNOWN_ID, 1)),
        "unknown among valid": items((js, 1), (UNKNOWN_ID, 2)),
        "hidden channel": items((ch["hidden"], 1)),
        "channel 0": items((0, 1)),
        "recommended as string": {"channels": [{"id": "0", "seq": 1}]},
        "negative id": items((-js, 1)),
        "id too big": items((2**63, 1)),
        "id non-numeric string": {"channels": [{"id": "js", "seq": 1}]},
        "id float": {"channels": [{"id": float(js), "seq": 1}]},
        "id bool": {"channels": [{"id": True, "seq": 1}]},
        "id null": {"channels": [{"id": None, "seq": 1}]},
        "id missing": {"channels": [{"seq": 1}]},
        "duplicate ids": items((js, 1), (go, 2), (js, 3)),
        "duplicate id int and string": {
            "channels": [{"id": js, "seq": 1}, {"id": str(js), "seq": 2}]
        },
        "seq negative": items((js, -1)),
        "seq float": {"channels": [{"id": js, "seq": 1.5}]},
        "seq integral float": {"channels": [{"id": js, "seq": 1.0}]},
        "seq bool": {"channels": [{"id": js, "seq": True}]},
        "seq non-numeric string": {"channels": [{"id": js, "seq": "first"}]},
        "seq null": {"channels": [{"id": js, "seq": None}]},
        "seq missing": {"channels": [{"id": js}]},
        "seq too big for the column": items((js, 2**31)),
        "seq huge": items((js, 2**70)),
        "empty list": {"channels": []},
        "missing channels": {},
        "channels null": {"channels": None},
        "channels object": {"channels": {"id": js, "seq": 1}},
        "channels string": {"channels": "js"},
        "channels of ints": {"channels": [js, go]},
        "body is a list": [{"id": js, "seq": 1}],
        "body is a string": "channels",
    }


BAD_BODY_NAMES = list(_bad_bodies(dict.fromkeys(NAMES, 1)))


@pytest.mark.parametrize("case", BAD_BODY_NAMES)
@pytest.mark.parametrize("method", WRITE_METHODS)
async def test_write_validation_is_400_and_saves_nothing(client, ch, user, defaults, method, case):
    response = await client.request(method, MY, json=_bad_bodies(ch)[case], headers=user)
    assert_error(response, 400)
    assert await my_ids(client, user) == defaults


@pytest.mark.parametrize("method", WRITE_METHODS)
async def test_write_validation_keeps_existing_channels(client, ch, user, method):
    await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=user)
    response = await client.request(
        method, MY, json=items((ch["java"], 0), (UNKNOWN_ID, 1)), headers=user
    )
    assert_error(response, 400)
    assert await my_ids(client, user) == [ch["js"], ch["go"]]


@pytest.mark.parametrize("method", WRITE_METHODS)
async def test_write_malformed_json_is_400(client, ch, user, method):
    response = await client.request(
        method,
        MY,
        content=b'{"channels": [{"id": 1, "seq": 1}',
        headers={**user, "Content-Type": "application/json"},
    )
    assert_error(response, 400)


@pytest.mark.parametrize("method", WRITE_METHODS)
async def test_write_without_body_is_400(client, ch, user, method):
    assert_error(await client.request(method, MY, headers=user), 400)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
@pytest.mark.parametrize("method", WRITE_METHODS)
async def test_write_json_body_with_other_content_type_is_parsed(
    client, ch, user, method, content_type
):
    body = items((ch["go"], 2), (ch["js"], 1))
    headers = dict(user)
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.request(method, MY, content=json.dumps(body).encode(), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json() == {"message": "OK", "data": body}
    assert await my_ids(client, user) == [ch["js"], ch["go"]]


async def test_delete_batch_json_body_with_form_content_type_is_parsed(client, ch, user):
    await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=user)
    response = await client.request(
        "DELETE",
        MY,
        content=json.dumps({"channels": [ch["go"]]}).encode(),
        headers={**user, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_empty_204(response)
    assert await my_ids(client, user) == [ch["js"]]


async def test_put_one_json_body_with_form_content_type_is_parsed(client, ch, user):
    response = await client.put(
        one(MY, ch["go"]),
        content=b'{"seq": 3}',
        headers={**user, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"] == {"id": ch["go"], "seq": 3}


async def test_write_ignores_unknown_fields(client, ch, user):
    body = {"channels": [{"id": ch["go"], "seq": 1, "name": "go"}], "extra": True}
    response = await client.put(MY, json=body, headers=user)
    assert response.status_code == 201, response.text
    assert response.json()["data"] == {"channels": [{"id": ch["go"], "seq": 1}]}


# -- auth on writes ---------------------------------------------------------------------------


def _writes(ch: dict[str, int]) -> list[tuple[str, str, Any]]:
    return [
        ("POST", MY, items((ch["go"], 1))),
        ("PATCH", MY, items((ch["go"], 1))),
        ("PUT", MY, items((ch["go"], 1))),
        ("DELETE", MY, {"channels": [ch["js"]]}),
        ("PUT", one(MY, ch["go"]), {"seq": 1}),
        ("DELETE", one(MY, ch["js"]), None),
    ]


WRITE_NAMES = ["POST", "PATCH", "PUT", "DELETE batch", "PUT one", "DELETE one"]


@pytest.mark.parametrize(
    "kind", ["none", "anony", "garbage", "empty", "expired", "wrong_secret", "refresh"]
)
@pytest.mark.parametrize("index", range(6), ids=WRITE_NAMES)
async def test_writes_need_a_valid_access_token(client, ch, factory, runtime, index, kind):
    row = await factory.user()
    own = factory.headers(row.user_id)
    await client.put(MY, json=items((ch["js"], 1)), headers=own)
    headers = {
        "none": {},
        "anony": {"Authorization": "Anony device-1"},
        "garbage": {"Authorization": "Bearer abc.def.ghi"},
        "empty": {"Authorization": "Bearer"},
        "expired": {"Authorization": f"Bearer {_expired(runtime, row.user_id)}"},
        "wrong_secret": {"Authorization": f"Bearer {_foreign(row.user_id)}"},
        "refresh": factory.headers(row.user_id, refresh=True),
    }[kind]
    method, url, body = _writes(ch)[index]
    if body is None:
        response = await client.request(method, url, headers=headers)
    else:
        response = await client.request(method, url, json=body, headers=headers)
    assert_error(response, 401)
    assert await my_ids(client, own) == [ch["js"]]


# -- isolation between users ------------------------------------------------------------------


async def test_one_users_writes_never_affect_another(client, ch, factory, defaults):
    a = factory.headers((await factory.user()).user_id)
    b = factory.headers((await factory.user()).user_id)
    c = factory.headers((await factory.user()).user_id)  # never writes

    assert (
        await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=b)
    ).status_code == 201
    assert await my_ids(client, b) == [ch["js"], ch["go"]]

    # A writes with every method, touching the same channels B has
    assert (
        await client.post(MY, json=items((ch["js"], 5), (ch["java"], 1)), headers=a)
    ).status_code == 201
    assert (await client.patch(MY, json=items((ch["go"], 0)), headers=a)).status_code == 201
    assert (await client.put(one(MY, ch["python"]), json={"seq": 9}, headers=a)).status_code == 201
    assert_empty_204(await delete_json(client, MY, {"channels": [ch["js"]]}, a))
    assert_empty_204(await client.delete(one(MY, ch["go"]), headers=a))
    assert await my_ids(client, a) == [ch["java"], ch["python"]]
    assert (await client.put(MY, json=items((ch["css"], 1)), headers=a)).status_code == 201
    assert await my_ids(client, a) == [ch["css"]]

    assert await my_ids(client, b) == [ch["js"], ch["go"]]
    assert await my_ids(client, c) == defaults
    assert await my_ids(client) == defaults

    # B adding a channel A has is not a conflict
    assert (await client.post(MY, json=items((ch["css"], 3)), headers=b)).status_code == 201
    assert await my_ids(client, b) == [ch["js"], ch["go"], ch["css"]]
    assert await my_ids(client, a) == [ch["css"]]


# -- cache coherence --------------------------------------------------------------------------


def _write_then_expect(ch: dict[str, int]) -> dict[str, tuple[str, str, Any, list[str]]]:
    # start: js(1), go(2); each write, then the list expected right after it
    return {
        "POST": ("POST", MY, items((ch["java"], 0)), ["java", "js", "go"]),
        "PATCH": ("PATCH", MY, items((ch["go"], 0)), ["go", "js"]),
        "PUT": ("PUT", MY, items((ch["python"], 1)), ["python"]),
        "DELETE batch": ("DELETE", MY, {"channels": [ch["js"]]}, ["go"]),
        "PUT one": ("PUT", one(MY, ch["java"]), {"seq": 0}, ["java", "js", "go"]),
        "DELETE one": ("DELETE", one(MY, ch["go"]), None, ["js"]),
        "DELETE all": ("DELETE", MY, {"channels": [ch["js"], ch["go"]]}, ["html", "css"]),
    }


@pytest.mark.parametrize(
    "case", ["POST", "PATCH", "PUT", "DELETE batch", "PUT one", "DELETE one", "DELETE all"]
)
async def test_write_is_visible_immediately_after_a_cached_read(client, ch, factory, runtime, case):
    row = await factory.user()
    headers = factory.headers(row.user_id)
    assert (
        await client.put(MY, json=items((ch["js"], 1), (ch["go"], 2)), headers=headers)
    ).status_code == 201
    assert await my_ids(client, headers) == [ch["js"], ch["go"]]
    # the read filled the cache
    assert await runtime.cache.get(channel_service.user_key(row.user_id)) is not None
    assert await my_ids(client, headers) == [ch["js"], ch["go"]]

    method, url, body, expected = _write_then_expect(ch)[case]
    if body is None:
        response = await client.request(method, url, headers=headers)
    else:
        response = await client.request(method, url, json=body, headers=headers)
    assert response.status_code in (201, 204), response.text
    assert await my_ids(client, headers) == [ch[name] for name in expected]


async def test_failed_write_leaves_the_cached_list_correct(client, ch, user):
    await client.put(MY, json=items((ch["js"], 1)), headers=user)
    assert await my_ids(client, user) == [ch["js"]]
    assert_error(await client.post(MY, json=items((ch["go"], 0), (ch["js"], 1)), headers=user), 409)
    assert_error(
        await client.put(MY, json=items((ch["go"], 0), (UNKNOWN_ID, 1)), headers=user), 400
    )
    assert await my_ids(client, user) == [ch["js"]]


async def test_read_after_write_does_not_cache_a_lagging_replica(
    client, ch, factory, runtime, monkeypatch, tmp_path
):
    """With read replicas configured, the read that refills the list after a write must not
    come from a replica that has not caught up yet: whatever it loads is cached for an hour."""
    row = await factory.user()
    headers = factory.headers(row.user_id)
    assert await my_ids(client, headers) != [ch["go"]]  # user status and global lists are warm

    # a replica frozen before the write below: same channels and user, no user channels
    stale = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'replica.db'}")
    tables = [User.__table__, Channel.__table__, UserChannel.__table__]
    async with runtime.db.primary.connect() as source:
        channels = [dict(r._mapping) for r in await source.execute(select(Channel.__table__))]
        users = [dict(r._mapping) for r in await source.execute(select(User.__table__))]
    async with stale.begin() as conn:
        await conn.run_sync(lambda sync: User.metadata.create_all(sync, tables=tables))
        await conn.execute(insert(User.__table__), users)
        await conn.execute(insert(Channel.__table__), channels)
    monkeypatch.setattr(runtime.db, "replicas", [Replica(stale)])
    try:
        assert (await client.put(MY, json=items((ch["go"], 1)), headers=headers)).status_code == 201
        assert await my_ids(client, headers) == [ch["go"]]
        assert await my_ids(client, headers) == [ch["go"]]
    finally:
        monkeypatch.undo()
        await stale.dispose()


async def test_read_racing_a_write_does_not_cache_the_old_list(client, ch, factory, monkeypatch):
    row = await factory.user()
    headers = factory.headers(row.user_id)
    assert (await client.put(MY, json=items((ch["js"], 1)), headers=headers)).status_code == 201
    key = channel_service.user_key(row.user_id)
    loaded, release = asyncio.Event(), asyncio.Event()
    original = channel_service.cached_json

    async def slow_fill(cache, cache_key, loader, **kwargs):
        async def slow_loader():
            value = await loader()
            loaded.set()
            await release.wait()  # the write commits and invalidates meanwhile
            return value

        return await original(
            cache, cache_key, slow_loader if cache_key == key else loader, **kwargs
        )

    monkeypatch.setattr(channel_service, "cached_json", slow_fill)
    reader = asyncio.create_task(client.get(MY, headers=headers))
    await asyncio.wait_for(loaded.wait(), 10)
    assert (await client.put(MY, json=items((ch["go"], 1)), headers=headers)).status_code == 201
    release.set()
    assert (await reader).status_code == 200  # this one may well be old: it started first
    monkeypatch.undo()
    assert await my_ids(client, headers) == [ch["go"]]


# -- concurrency ------------------------------------------------------------------------------


async def test_parallel_posts_of_the_same_channel_one_wins(client, ch, user):
    body = items((ch["go"], 1))
    responses = await asyncio.gather(*(client.post(MY, json=body, headers=user) for _ in range(4)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409], [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409)
    assert await my_ids(client, user) == [ch["go"]]


async def test_parallel_patches_of_the_same_channel_all_succeed(client, ch, user):
    responses = await asyncio.gather(
        *(client.patch(MY, json=items((ch["go"], seq)), headers=user) for seq in range(4))
    )
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert await my_ids(client, user) == [ch["go"]]


async def test_parallel_puts_leave_one_of_the_lists(client, ch, user):
    lists = [
        items((ch["go"], 1), (ch["js"], 2)),
        items((ch["java"], 1)),
        items((ch["js"], 0), (ch["python"], 1)),
    ]
    responses = await asyncio.gather(*(client.put(MY, json=body, headers=user) for body in lists))
    assert [r.status_code for r in responses] == [201] * 3, [r.text for r in responses]
    final = await my_ids(client, user)
    assert final in ([ch["go"], ch["js"]], [ch["java"]], [ch["js"], ch["python"]])


async def test_channel_ids_follow_the_visible_list(client, runtime, ch):
    """The feed's channel check reads the ids of the visible list: built once per list, and
    a channel staff make visible is found once the lists are forgotten."""
    async with runtime.db.read_session() as session:
        ids = await channel_service.all_channel_ids(runtime.cache, session)
        assert ids == {ch[name] for name in NAMES if name != "hidden"}
        assert await channel_service.all_channel_ids(runtime.cache, session) is ids
    feed = f"/app/v1_1/articles?channel_id={ch['hidden']}&timestamp=1&with_top=0"
    assert_error(await client.get(feed), 400)
    async with runtime.db.session() as session:
        hidden = await session.get(Channel, ch["hidden"])
        hidden.is_visible = True
        await session.commit()
    await channel_service.forget_global_lists(runtime.cache)
    assert (await client.get(feed)).status_code == 200
