"""The author's profile and avatar over HTTP (mp.md §3.2-3.4, §6.3)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.api.mp.conftest import assert_error
from tests.fixtures.factories import png_bytes
from toutiao.models import User
from toutiao.models.enums import UserStatus

PROFILE = "/mp/v1_0/user/profile"
PHOTO = "/mp/v1_0/user/photo"


@pytest.fixture
async def author(factory):
    return await factory.user(mobile="13911110000", name="作者")


@pytest.fixture
def headers(factory, author):
    return factory.headers(author.user_id)


class TestRead:
    async def test_missing_strings_are_empty(self, client, author, headers):
        response = await client.get(PROFILE, headers=headers)
        assert response.status_code == 200
        assert response.json()["data"] == {
            "id": author.user_id,
            "name": "作者",
            "photo": "",
            "mobile": "13911110000",
            "intro": "",
            "email": "",
            "gender": 0,
            "birthday": None,
        }

    async def test_needs_a_token(self, client):
        assert_error(await client.get(PROFILE), 401)
        assert_error(await client.get(PROFILE, headers={"Authorization": "Bearer x"}), 401)


class TestUpdate:
    async def test_all_three_fields_and_the_app_sees_the_name(self, client, author, headers):
        await client.get(f"/app/v1_0/users/{author.user_id}")  # the app caches the card
        body = {
            "name": " 新名字 ",
            "intro": "写科技",
            "email": "me@Example.COM",
            "id": "1",
            "photo": 5,
        }
        response = await client.patch(PROFILE, json=body, headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["data"] == {
            "id": author.user_id,
            "name": "新名字",
            "intro": "写科技",
            "email": "me@example.com",
        }
        profile = (await client.get(PROFILE, headers=headers)).json()["data"]
        assert (profile["name"], profile["intro"], profile["email"]) == (
            "新名字",
            "写科技",
            "me@example.com",
        )
        card = await client.get(f"/app/v1_0/users/{author.user_id}")
        assert card.json()["data"]["name"] == "新名字"

    async def test_empty_strings_clear_and_absent_fields_stay(self, client, headers):
        await client.patch(PROFILE, json={"intro": "hi", "email": "a@b.cn"}, headers=headers)
        response = await client.patch(PROFILE, json={"intro": ""}, headers=headers)
        assert (
            response.json()["data"]["intro"] == "" and response.json()["data"]["email"] == "a@b.cn"
        )
        response = await client.patch(PROFILE, json={"email": ""}, headers=headers)
        assert response.json()["data"]["email"] == "" and response.json()["data"]["name"] == "作者"

    async def test_duplicate_name(self, client, factory, headers):
        await factory.user(name="taken")
        assert_error(await client.patch(PROFILE, json={"name": "taken"}, headers=headers), 400)
        assert (
            await client.patch(PROFILE, json={"name": "作者"}, headers=headers)
        ).status_code == 201

    @pytest.mark.parametrize(
        "body",
        [
            {"name": ""},
            {"name": "   "},
            {"name": "x" * 33},
            {"name": 5},
            {"name": "bad\nname"},
            {"name": "evil\u202etxt"},
            {"name": "tab\tname"},
            {"intro": "x" * 51},
            {"email": "not-an-email"},
            {"email": "a" * 95 + "@b.com"},
        ],
    )
    async def test_invalid(self, client, headers, body):
        assert_error(await client.patch(PROFILE, json=body, headers=headers), 400)

    async def test_limits_of_the_fields(self, client, headers):
        body = {"name": "n" * 32, "intro": "i" * 50, "email": "a" * 88 + "@b.com"}
        assert (await client.patch(PROFILE, json=body, headers=headers)).status_code == 201

    async def test_needs_a_token(self, client):
        assert_error(await client.patch(PROFILE, json={"name": "x"}), 401)

    async def test_disabled_account(self, client, factory):
        user = await factory.user(status=UserStatus.DISABLED)
        headers = factory.headers(user.user_id)
        assert_error(await client.patch(PROFILE, json={"name": "x"}, headers=headers), 403)
        assert_error(await client.get(PROFILE, headers=headers), 403)


async def _photo(client, headers, data: bytes, ctype: str = "image/png"):
    return await client.patch(PHOTO, files={"photo": ("blob", data, ctype)}, headers=headers)


class TestPhoto:
    async def test_square_at_most_512_and_absolute(self, client, runtime, author, headers):
        response = await _photo(client, headers, png_bytes((900, 600)))
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert data["id"] == author.user_id and data["photo"].startswith("http://testserver/media/")
        stored = await runtime.storage.get(data["photo"].removeprefix("http://testserver/media/"))
        with Image.open(io.BytesIO(stored)) as image:
            assert image.size == (512, 512) and image.format == "PNG"
        profile = (await client.get(PROFILE, headers=headers)).json()["data"]
        assert profile["photo"] == data["photo"]
        card = await client.get(f"/app/v1_0/users/{author.user_id}")
        assert card.json()["data"]["photo"] == data["photo"]

    async def test_small_jpeg_cropped_not_enlarged(self, client, runtime, headers):
        out = io.BytesIO()
        Image.new("RGB", (120, 80), "green").save(out, format="JPEG")
        data = (await _photo(client, headers, out.getvalue(), "application/octet-stream")).json()[
            "data"
        ]
        assert data["photo"].endswith(".jpg")
        stored = await runtime.storage.get(data["photo"].removeprefix("http://testserver/media/"))
        with Image.open(io.BytesIO(stored)) as image:
            assert image.size == (80, 80)

    async def test_missing_or_not_an_image(self, client, runtime, author, headers):
        assert_error(await client.patch(PHOTO, headers=headers), 400)
        assert_error(
            await client.patch(PHOTO, files={"image": ("a", png_bytes())}, headers=headers), 400
        )
        assert_error(await _photo(client, headers, b"GIF89a-not-really"), 400)
        assert_error(await _photo(client, headers, png_bytes(fmt="BMP")), 400)
        async with runtime.db.session() as session:
            assert (await session.get(User, author.user_id)).profile_photo is None

    async def test_too_large(self, client, runtime, headers, monkeypatch):
        data = png_bytes((64, 64))
        monkeypatch.setattr(runtime.settings, "MP_IMAGE_MAX_BYTES", len(data) - 1)
        assert_error(await _photo(client, headers, data), 400)

    async def test_needs_a_token(self, client):
        assert_error(await _photo(client, {}, png_bytes()), 401)
