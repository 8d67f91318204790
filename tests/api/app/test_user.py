"""My info, profile, photos, figure and another user's card (app.md E12-E17)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.api.app.test_auth import assert_error
from tests.fixtures.factories import png_bytes
from toutiao.models import UserRelation
from toutiao.models.enums import Relation
from toutiao.stats import counters
from toutiao.user.names import default_name


def bomb_png() -> bytes:
    """A tiny file that declares 30000 x 30000 pixels."""
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


class TestMe:
    async def test_card_with_counters(self, client, runtime, factory):
        user = await factory.user(name="小明", introduction="hi", is_media=True, certificate="作者")
        await counters.USER_FANS.incr(runtime.store, user.user_id, 3)
        await counters.USER_LIKED.incr(runtime.store, user.user_id, 7)
        response = await client.get("/app/v1_0/user", headers=factory.headers(user.user_id))
        assert response.status_code == 200
        assert response.json() == {
            "message": "OK",
            "data": {
                "id": user.user_id,
                "name": "小明",
                "photo": None,
                "is_media": 1,
                "intro": "hi",
                "certi": "作者",
                "art_count": 0,
                "follow_count": 0,
                "fans_count": 3,
                "like_count": 7,
            },
        }
        assert str(user.user_id).encode() in response.content  # exact 64-bit integer, not a float

    async def test_figure(self, client, runtime, factory):
        user = await factory.user()
        await counters.USER_READS.incr(runtime.store, user.user_id, 11)
        response = await client.get("/app/v1_0/user/figure", headers=factory.headers(user.user_id))
        assert response.json()["data"] == {"fans_count": 0, "read_count": 11}

    async def test_profile_defaults(self, client, factory):
        user = await factory.user(mobile="13600000001")
        response = await client.get("/app/v1_0/user/profile", headers=factory.headers(user.user_id))
        assert response.json()["data"] == {
            "id": user.user_id,
            "name": default_name(user.user_id),  # never the mobile, even for old accounts
            "photo": None,
            "mobile": "13600000001",
            "gender": 0,
            "birthday": None,
            "intro": "",
        }

    async def test_user_without_profile_row(self, client, factory):
        user = await factory.user(profile=False)
        headers = factory.headers(user.user_id)
        assert (await client.get("/app/v1_0/user/profile", headers=headers)).json()["data"][
            "gender"
        ] == 0
        response = await client.patch("/app/v1_0/user/profile", json={"gender": 1}, headers=headers)
        assert response.status_code == 200


class TestProfileUpdate:
    async def test_only_sent_fields_change_and_are_returned(self, client, factory):
        user = await factory.user(name="old")
        headers = factory.headers(user.user_id)
        response = await client.patch(
            "/app/v1_0/user/profile",
            json={
                "name": "新名字",
                "gender": 1,
                "birthday": "2001-02-03",
                "intro": "简介",
                "real_name": "张三",
                "id_number": "11010519491231002x",
            },
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {
            "id": user.user_id,
            "name": "新名字",
            "gender": 1,
            "birthday": "2001-02-03",
            "intro": "简介",
            "real_name": "张三",
            "id_number": "11010519491231002X",
        }
        profile = (await client.get("/app/v1_0/user/profile", headers=headers)).json()["data"]
        assert (profile["name"], profile["gender"], profile["birthday"], profile["intro"]) == (
            "新名字",
            1,
            "2001-02-03",
            "简介",
        )

    async def test_gender_zero_saves_and_intro_can_be_cleared(self, client, factory):
        user = await factory.user(introduction="something")
        headers = factory.headers(user.user_id)
        await client.patch("/app/v1_0/user/profile", json={"gender": 1}, headers=headers)
        response = await client.patch(
            "/app/v1_0/user/profile", json={"gender": 0, "intro": ""}, headers=headers
        )
        assert response.json()["data"] == {"id": user.user_id, "gender": 0, "intro": ""}
        profile = (await client.get("/app/v1_0/user/profile", headers=headers)).json()["data"]
        assert profile["gender"] == 0 and profile["intro"] == ""

    async def test_empty_body_is_a_no_op(self, client, factory):
        user = await factory.user()
        response = await client.patch(
            "/app/v1_0/user/profile", json={}, headers=factory.headers(user.user_id)
        )
        assert response.status_code == 200 and response.json()["data"] == {"id": user.user_id}

    @pytest.mark.parametrize(
        "body",
        [
            {"gender": 2},
            {"gender": True},
            {"gender": "x"},
            {"birthday": "2001-13-01"},
            {"birthday": "20010203"},
            {"birthday": "2999-01-01"},
            {"name": ""},
            {"name": "12345678"},
            {"intro": "x" * 61},
            {"real_name": "x" * 8},
            {"id_number": "123"},
            {"photo": "not base64!!"},
            {"photo": base64.b64encode(b"hello, I am text").decode()},
        ],
    )
    async def test_validation(self, client, factory, body):
        user = await factory.user(name="keep")
        headers = factory.headers(user.user_id)
        assert_error(await client.patch("/app/v1_0/user/profile", json=body, headers=headers), 400)
        assert (await client.get("/app/v1_0/user/profile", headers=headers)).json()["data"][
            "name"
        ] == "keep"

    async def test_base64_photo_becomes_a_served_url(self, client, factory):
        user = await factory.user()
        headers = factory.headers(user.user_id)
        image = png_bytes(color="blue")
        data_uri = "data:image/png;base64," + base64.b64encode(image).decode()
        response = await client.patch(
            "/app/v1_0/user/profile", json={"photo": data_uri}, headers=headers
        )
        assert response.status_code == 200, response.text
        url = response.json()["data"]["photo"]
        assert url.startswith("http://testserver/media/")
        served = await client.get(url.removeprefix("http://testserver"))
        assert served.status_code == 200 and served.content == image
        assert (await client.get("/app/v1_0/user", headers=headers)).json()["data"]["photo"] == url
        card = (await client.get(f"/app/v1_0/users/{user.user_id}")).json()["data"]
        assert card["photo"] == url

    async def test_id_card_images_are_stored(self, client, factory):
        user = await factory.user()
        image = base64.b64encode(png_bytes(fmt="JPEG")).decode()
        response = await client.patch(
            "/app/v1_0/user/profile",
            json={"id_card_front": image, "id_card_back": image},
            headers=factory.headers(user.user_id),
        )
        data = response.json()["data"]
        assert set(data) == {"id", "id_card_front", "id_card_back"}
        assert data["id_card_front"].endswith(".jpg")


class TestPhotoUpload:
    async def test_multipart_avatar(self, client, factory):
        user = await factory.user()
        headers = factory.headers(user.user_id)
        image = png_bytes(color="green")
        response = await client.patch(
            "/app/v1_0/user/photo", files={"photo": ("me.png", image, "image/png")}, headers=headers
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert set(data) == {"id", "photo"}
        assert (await client.get(data["photo"].removeprefix("http://testserver"))).content == image
        assert (await client.get("/app/v1_0/user/profile", headers=headers)).json()["data"][
            "photo"
        ] == data["photo"]

    @pytest.mark.parametrize(
        ("content", "name"),
        [(b"GIF89a but not really", "a.gif"), (b"%PDF-1.4 hello", "a.png"), (b"", "empty.png")],
    )
    async def test_not_an_image_is_400(self, client, factory, content, name):
        user = await factory.user()
        response = await client.patch(
            "/app/v1_0/user/photo",
            files={"photo": (name, content, "image/png")},
            headers=factory.headers(user.user_id),
        )
        assert_error(response, 400)

    async def test_decompression_bomb_is_400(self, client, factory):
        user = await factory.user()
        response = await client.patch(
            "/app/v1_0/user/photo",
            files={"photo": ("bomb.png", bomb_png(), "image/png")},
            headers=factory.headers(user.user_id),
        )
        assert_error(response, 400)

    async def test_too_large_is_400(self, client, runtime, factory):
        user = await factory.user()
        big = png_bytes(size=(64, 64)) + b"\0" * runtime.settings.UPLOAD_MAX_BYTES
        response = await client.patch(
            "/app/v1_0/user/photo",
            files={"photo": ("big.png", big, "image/png")},
            headers=factory.headers(user.user_id),
        )
        assert_error(response, 400)

    async def test_requires_login(self, client):
        response = await client.patch(
            "/app/v1_0/user/photo", files={"photo": ("a.png", png_bytes(), "image/png")}
        )
        assert_error(response, 401)


class TestOtherUser:
    async def test_anonymous_and_related(self, client, runtime, factory):
        me, other = await factory.user(), await factory.user(name="别人")
        anonymous = (await client.get(f"/app/v1_0/users/{other.user_id}")).json()["data"]
        assert (
            anonymous["name"] == "别人"
            and anonymous["is_following"] is False
            and anonymous["is_blacklist"] is False
        )
        async with runtime.db.session() as session:
            session.add(
                UserRelation(
                    user_id=me.user_id, target_user_id=other.user_id, relation=Relation.FOLLOW
                )
            )
            await session.commit()
        mine = (
            await client.get(
                f"/app/v1_0/users/{other.user_id}", headers=factory.headers(me.user_id)
            )
        ).json()["data"]
        assert mine["is_following"] is True and mine["is_blacklist"] is False

    async def test_unknown_user_is_400_and_bad_path_404(self, client):
        assert_error(await client.get("/app/v1_0/users/123456789"), 400)
        assert_error(await client.get("/app/v1_0/users/9999999999999999999"), 400)
        assert_error(await client.get("/app/v1_0/users/abc"), 404)
        assert_error(await client.get("/app/v1_0/users/0"), 404)

    async def test_bad_token_is_401(self, client, factory):
        other = await factory.user()
        assert_error(
            await client.get(
                f"/app/v1_0/users/{other.user_id}", headers={"Authorization": "Bearer x"}
            ),
            401,
        )


async def test_longest_valid_intro_and_name_are_stored(client, factory):
    user = await factory.user()
    headers = factory.headers(user.user_id)
    body = {"intro": "简" * 60, "name": "名" * 7, "real_name": "真" * 7}
    response = await client.patch("/app/v1_0/user/profile", json=body, headers=headers)
    assert response.status_code == 200, response.text
    me = (await client.get("/app/v1_0/user", headers=headers)).json()["data"]
    assert (me["intro"], me["name"]) == (body["intro"], body["name"])
