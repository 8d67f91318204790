"""The image library over HTTP (mp.md §3.12-3.15, §6.1, §6.3)."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from sqlalchemy import select

from tests.api.mp.conftest import assert_error
from tests.fixtures.factories import png_bytes
from toutiao.models import Material
from toutiao.models.enums import MaterialStatus

IMAGES = "/mp/v1_0/user/images"


def jpeg_with_gps(color: str = "blue") -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"
    exif[0x8825] = {1: "N", 2: (40.0, 1.0, 2.0)}
    out = io.BytesIO()
    Image.new("RGB", (120, 80), color).save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


async def upload(client, headers, data: bytes, name: str = "blob", ctype: str = "image/png"):
    return await client.post(IMAGES, files={"image": (name, data, ctype)}, headers=headers)


async def stored(runtime, url: str) -> bytes:
    key = url.removeprefix("http://testserver/media/")
    data = await runtime.storage.get(key)
    assert data is not None
    return data


@pytest.fixture
async def author(factory):
    return await factory.user()


@pytest.fixture
def headers(factory, author):
    return factory.headers(author.user_id)


class TestUpload:
    async def test_created_with_an_absolute_content_hash_url(self, client, runtime, headers):
        response = await upload(client, headers, png_bytes((40, 30)))
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert set(data) == {"id", "url"} and isinstance(data["id"], int)
        body = await stored(runtime, data["url"])
        digest = hashlib.sha256(body).hexdigest()
        assert data["url"] == f"http://testserver/media/{digest[:2]}/{digest}.png"

    async def test_type_comes_from_the_bytes(self, client, runtime, headers):
        response = await upload(client, headers, png_bytes(), name="photo.jpg", ctype="image/jpeg")
        assert response.status_code == 201
        assert response.json()["data"]["url"].endswith(".png")
        with Image.open(io.BytesIO(await stored(runtime, response.json()["data"]["url"]))) as im:
            assert im.format == "PNG"

    @pytest.mark.parametrize(
        "data",
        [
            b"<html>not an image</html>",
            b"",
            b"\x89PNG\r\n\x1a\nbroken",
            png_bytes(fmt="TIFF"),
            png_bytes(fmt="BMP"),
        ],
    )
    async def test_not_an_allowed_image(self, client, headers, data):
        assert_error(await upload(client, headers, data, name="a.png"), 400)

    async def test_field_missing(self, client, headers):
        assert_error(
            await client.post(IMAGES, files={"photo": ("a", png_bytes())}, headers=headers), 400
        )
        assert_error(await client.post(IMAGES, json={"image": "x"}, headers=headers), 400)

    async def test_too_large(self, client, runtime, headers, monkeypatch):
        data = png_bytes((64, 64))
        monkeypatch.setattr(runtime.settings, "MP_IMAGE_MAX_BYTES", len(data) - 1)
        assert_error(await upload(client, headers, data), 400)
        monkeypatch.setattr(runtime.settings, "MP_IMAGE_MAX_BYTES", len(data))
        assert (await upload(client, headers, data)).status_code == 201

    async def test_too_many_pixels(self, client, headers):
        out = io.BytesIO()
        Image.new("1", (8001, 8)).save(out, format="PNG")
        assert_error(await upload(client, headers, out.getvalue()), 400)

    async def test_exif_and_gps_removed(self, client, runtime, headers):
        data = jpeg_with_gps()
        assert b"SecretCamera" in data
        response = await upload(client, headers, data, ctype="image/jpeg")
        assert response.status_code == 201
        body = await stored(runtime, response.json()["data"]["url"])
        assert b"SecretCamera" not in body
        with Image.open(io.BytesIO(body)) as image:
            assert image.format == "JPEG" and dict(image.getexif()) == {}

    async def test_same_content_same_item_and_name(self, client, runtime, author, headers):
        first = (await upload(client, headers, jpeg_with_gps())).json()["data"]
        again = (await upload(client, headers, jpeg_with_gps())).json()["data"]
        assert again == first
        async with runtime.db.session() as session:
            rows = (await session.scalars(select(Material))).all()
        assert len(rows) == 1 and rows[0].user_id == author.user_id

    async def test_same_content_by_two_users_one_file_two_items(self, client, factory, headers):
        other = await factory.user()
        mine = (await upload(client, headers, png_bytes())).json()["data"]
        theirs = (await upload(client, factory.headers(other.user_id), png_bytes())).json()["data"]
        assert mine["url"] == theirs["url"] and mine["id"] != theirs["id"]

    async def test_a_deleted_image_comes_back_unstarred(self, client, headers):
        item = (await upload(client, headers, png_bytes())).json()["data"]
        await client.put(f"{IMAGES}/{item['id']}", json={"collect": True}, headers=headers)
        assert (await client.delete(f"{IMAGES}/{item['id']}", headers=headers)).status_code == 204
        assert (await upload(client, headers, png_bytes())).json()["data"] == item
        listed = (await client.get(IMAGES, headers=headers)).json()["data"]["results"]
        assert [(i["id"], i["is_collected"]) for i in listed] == [(item["id"], False)]

    async def test_upload_limit_per_user(self, client, runtime, factory, headers, monkeypatch):
        monkeypatch.setattr(runtime.settings, "MP_IMAGE_UPLOAD_RATE", "2/minute")
        for color in ("red", "green"):
            assert (await upload(client, headers, png_bytes(color=color))).status_code == 201
        assert_error(await upload(client, headers, png_bytes(color="blue")), 429)
        other = await factory.user()
        assert (
            await upload(client, factory.headers(other.user_id), png_bytes())
        ).status_code == 201

    async def test_needs_a_token(self, client):
        assert_error(await upload(client, {}, png_bytes()), 401)

    async def test_cors_for_the_direct_upload(self, client, headers):
        origin = {"Origin": "http://publisher.example"}
        preflight = await client.options(
            IMAGES,
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] in ("*", origin["Origin"])
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        response = await upload(client, {**headers, **origin}, png_bytes())
        assert response.status_code == 201
        assert response.headers["access-control-allow-origin"] in ("*", origin["Origin"])


async def _library(client, headers, colors: list[str]) -> list[int]:
    return [
        (await upload(client, headers, png_bytes(color=c))).json()["data"]["id"] for c in colors
    ]


class TestList:
    async def test_newest_first_with_paging(self, client, headers):
        ids = await _library(client, headers, ["red", "green", "blue"])
        response = await client.get(IMAGES, params={"page": 1, "per_page": 2}, headers=headers)
        assert response.status_code == 200
        data = response.json()["data"]
        assert (data["total_count"], data["page"], data["per_page"]) == (3, 1, 2)
        assert [i["id"] for i in data["results"]] == ids[::-1][:2]
        item = data["results"][0]
        assert set(item) == {"id", "url", "is_collected", "create_time"}
        assert item["url"].startswith("http://testserver/media/") and item["is_collected"] is False
        past = (await client.get(IMAGES, params={"page": 9}, headers=headers)).json()["data"]
        assert past["results"] == [] and past["total_count"] == 3
        assert past["per_page"] == 20

    async def test_collect_filter(self, client, headers):
        ids = await _library(client, headers, ["red", "green", "blue"])
        await client.put(f"{IMAGES}/{ids[1]}", json={"collect": True}, headers=headers)
        starred = await client.get(IMAGES, params={"collect": "true"}, headers=headers)
        assert [i["id"] for i in starred.json()["data"]["results"]] == [ids[1]]
        assert starred.json()["data"]["results"][0]["is_collected"] is True
        everything = await client.get(IMAGES, params={"collect": "false"}, headers=headers)
        assert everything.json()["data"]["total_count"] == 3

    @pytest.mark.parametrize(
        "params", [{"collect": "yes"}, {"page": 0}, {"per_page": 101}, {"page": "x"}]
    )
    async def test_bad_parameters(self, client, headers, params):
        assert_error(await client.get(IMAGES, params=params, headers=headers), 400)

    async def test_only_mine_and_not_deleted(self, client, factory, headers):
        other = await factory.user()
        await _library(client, factory.headers(other.user_id), ["black"])
        ids = await _library(client, headers, ["red", "green"])
        await client.delete(f"{IMAGES}/{ids[0]}", headers=headers)
        data = (await client.get(IMAGES, headers=headers)).json()["data"]
        assert [i["id"] for i in data["results"]] == [ids[1]] and data["total_count"] == 1

    async def test_needs_a_token(self, client):
        assert_error(await client.get(IMAGES), 401)


class TestStarAndDelete:
    async def test_star_and_unstar(self, client, headers):
        [image_id] = await _library(client, headers, ["red"])
        for value in (True, True, False):
            response = await client.put(
                f"{IMAGES}/{image_id}", json={"collect": value}, headers=headers
            )
            assert response.status_code == 201
            assert response.json()["data"] == {"id": image_id, "collect": value}

    @pytest.mark.parametrize("body", [{}, {"collect": "yes"}, {"collect": 1}])
    async def test_star_bad_body(self, client, headers, body):
        [image_id] = await _library(client, headers, ["red"])
        assert_error(await client.put(f"{IMAGES}/{image_id}", json=body, headers=headers), 400)

    async def test_another_authors_image_is_not_found(self, client, runtime, factory, headers):
        other = await factory.user()
        [theirs] = await _library(client, factory.headers(other.user_id), ["red"])
        url = f"{IMAGES}/{theirs}"
        assert_error(await client.put(url, json={"collect": True}, headers=headers), 404)
        assert_error(await client.delete(url, headers=headers), 404)
        async with runtime.db.session() as session:
            row = await session.get(Material, theirs)
        assert row.status == MaterialStatus.APPROVED and row.is_collected is False

    async def test_missing_and_malformed_ids(self, client, headers):
        for path in (f"{IMAGES}/999999", f"{IMAGES}/abc", f"{IMAGES}/-1"):
            assert_error(await client.put(path, json={"collect": True}, headers=headers), 404)
            assert_error(await client.delete(path, headers=headers), 404)

    async def test_delete_is_soft_and_the_file_stays(self, client, runtime, headers):
        item = (await upload(client, headers, png_bytes())).json()["data"]
        response = await client.delete(f"{IMAGES}/{item['id']}", headers=headers)
        assert response.status_code == 204 and response.content == b""
        assert await stored(runtime, item["url"])
        async with runtime.db.session() as session:
            assert (await session.get(Material, item["id"])).status == MaterialStatus.DELETED
        assert_error(await client.delete(f"{IMAGES}/{item['id']}", headers=headers), 404)

    async def test_needs_a_token(self, client, headers):
        [image_id] = await _library(client, headers, ["red"])
        assert_error(await client.put(f"{IMAGES}/{image_id}", json={"collect": True}), 401)
        assert_error(await client.delete(f"{IMAGES}/{image_id}"), 401)


class TestAuditAndLimits:
    async def test_writes_are_audited_after_commit(self, client, author, headers, caplog):
        caplog.set_level("INFO", logger="toutiao.audit")
        [image_id] = await _library(client, headers, ["red"])
        await client.delete(f"{IMAGES}/{image_id}", headers=headers)
        assert_error(await client.delete(f"{IMAGES}/{image_id}", headers=headers), 404)
        lines = [r.getMessage() for r in caplog.records if r.name == "toutiao.audit"]
        assert lines == [
            f"mp.image.upload user_id={author.user_id} image_id={image_id}",
            f"mp.image.delete user_id={author.user_id} image_id={image_id}",
        ]

    async def test_write_limit_per_author(self, client, runtime, headers, monkeypatch):
        [image_id] = await _library(client, headers, ["red"])
        monkeypatch.setattr(runtime.settings, "MP_WRITE_RATE_PER_USER", "2/minute")
        url = f"{IMAGES}/{image_id}"
        for _ in range(2):
            assert (
                await client.put(url, json={"collect": True}, headers=headers)
            ).status_code == 201
        assert_error(await client.put(url, json={"collect": True}, headers=headers), 429)
        assert (
            await client.get(IMAGES, headers=headers)
        ).status_code == 200  # reads are not limited
