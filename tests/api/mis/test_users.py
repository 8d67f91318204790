"""App users seen by staff (mis.md M24-M27) and freezing across surfaces (M26)."""

from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy import select

from tests.api.mis.helpers import assert_error, log_rows
from tests.fixtures.factories import png_bytes
from toutiao.kit.cache import INVALIDATED
from toutiao.models import User, UserProfile
from toutiao.models.enums import UserStatus
from toutiao.user import cache as user_cache

CODES = ("userlist-get", "userlist-post", "userlist-put", "user-get")


def new_user_body(**extra):
    body = {
        "account": "reader1",
        "password": "pass1234",
        "name": "读者一",
        "mobile": "13712345678",
        "gender": 1,
        "area": "北京",
        "email": "r@x.cn",
    }
    return {**body, **extra}


class TestList:
    async def test_default_order_filters_and_paging(self, client, staff, factory):
        headers = await staff.headers(*CODES)
        never = await factory.user(name="never")
        old = await factory.user(name="old", last_login=datetime(2024, 1, 1, 8, 0, 0))
        new = await factory.user(
            name="new_one", last_login=datetime(2025, 6, 1, 8, 0, 0), is_media=True
        )
        frozen = await factory.user(name="frozen", status=UserStatus.DISABLED)
        data = (await client.get("/mis/v1_0/users", headers=headers)).json()["data"]
        ids = [u["user_id"] for u in data["users"]]
        assert ids[:2] == [new.user_id, old.user_id] and data["total_count"] == 4
        assert set(ids[2:]) == {never.user_id, frozen.user_id}
        assert set(data["users"][0]) == {
            "user_id",
            "account",
            "name",
            "email",
            "mobile",
            "last_login",
            "is_verified",
            "is_media",
            "status",
        }
        assert data["users"][0]["last_login"] == "2025-06-01T08:00:00"

        async def total(query: str) -> int:
            response = await client.get(f"/mis/v1_0/users?{query}", headers=headers)
            assert response.status_code == 200, response.text
            return response.json()["data"]["total_count"]

        assert await total("status=0") == 1
        assert await total("is_media=1") == 1
        assert await total("keyword=NEW_") == 1
        assert await total(f"keyword={old.mobile[-4:]}") == 1
        assert await total("begin=2024-01-01&end=2024-12-31") == 1
        assert await total("begin=2025-01-01") == 1
        by_id = await client.get("/mis/v1_0/users?order_by=id", headers=headers)
        listed = [u["user_id"] for u in by_id.json()["data"]["users"]]
        assert listed == sorted(listed)

    async def test_bad_parameters(self, client, staff):
        headers = await staff.headers("userlist-get")
        for query in ("order_by=name", "status=3", "begin=2025-02-01&end=2025-01-01", "end=x"):
            assert_error(await client.get(f"/mis/v1_0/users?{query}", headers=headers), 400)


class TestCreate:
    async def test_create_can_sign_in_and_is_logged(self, client, runtime, staff):
        headers = await staff.headers(*CODES)
        photo = base64.b64encode(png_bytes()).decode()
        response = await client.post(
            "/mis/v1_0/users",
            json=new_user_body(profile_photo=f"data:image/png;base64,{photo}"),
            headers=headers,
        )
        assert response.status_code == 201, response.text
        user = response.json()["data"]
        assert user["user_id"] > 2**32  # a Snowflake id
        assert (user["account"], user["name"], user["status"]) == ("reader1", "读者一", 1)
        async with runtime.db.session() as session:
            row = await session.get(User, user["user_id"])
            profile = await session.get(UserProfile, user["user_id"])
        assert row.password.startswith("$argon2id$") and row.profile_photo
        assert profile.gender == 1 and profile.area == "北京"
        await client.get("/app/v1_0/sms/codes/13712345678")
        code = runtime.sms.last_code("13712345678")
        login = await client.post(
            "/app/v1_0/authorizations", json={"mobile": "13712345678", "code": code}
        )
        assert login.status_code == 201
        rows = await log_rows(runtime, "user.create")
        assert len(rows) == 1 and "13712345678" in rows[0].description
        assert "pass1234" not in rows[0].description

    async def test_errors(self, client, runtime, staff, factory):
        headers = await staff.headers("userlist-post")
        await factory.user(mobile="13700000001", name="taken")
        post = client.post
        for bad in (
            {"name": "x" * 8},
            {"mobile": "12345"},
            {"gender": 2},
            {"password": "short"},
            {"account": "9abc"},
            {"email": "x" * 21},
            {"profile_photo": "bm90IGFuIGltYWdl"},
        ):
            assert_error(
                await post("/mis/v1_0/users", json=new_user_body(**bad), headers=headers), 400
            )
        dup_mobile = new_user_body(mobile="13700000001")
        assert_error(await post("/mis/v1_0/users", json=dup_mobile, headers=headers), 409)
        dup_name = new_user_body(name="taken")
        assert_error(await post("/mis/v1_0/users", json=dup_name, headers=headers), 409)
        assert (
            await post("/mis/v1_0/users", json=new_user_body(), headers=headers)
        ).status_code == 201
        again = new_user_body(mobile="13700000002", name="other")
        assert_error(await post("/mis/v1_0/users", json=again, headers=headers), 409)
        assert len(await log_rows(runtime)) == 1


class TestOne:
    async def test_detail_and_404(self, client, staff, factory):
        headers = await staff.headers("user-get")
        user = await factory.user(name="detail")
        response = await client.get(f"/mis/v1_0/users/{user.user_id}", headers=headers)
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["user_id"] == user.user_id and data["name"] == "detail"
        for key in (
            "photo",
            "intro",
            "certificate",
            "gender",
            "birthday",
            "create_time",
            "art_count",
            "follow_count",
            "fans_count",
            "like_count",
        ):
            assert key in data
        assert_error(await client.get("/mis/v1_0/users/12345", headers=headers), 404)
        assert_error(await client.get("/mis/v1_0/users/x1", headers=headers), 404)


class TestFreeze:
    async def test_tokens_fail_at_once_on_app_and_mp(self, client, runtime, staff, factory):
        headers = await staff.headers("userlist-put")
        user = await factory.user(is_media=True)
        access, refresh = factory.headers(user.user_id), factory.headers(user.user_id, refresh=True)
        # warm every cache level: L1 and the Redis status key say "enabled"
        assert (await client.get("/app/v1_0/user", headers=access)).status_code == 200
        assert (await client.get("/mp/v1_0/user/profile", headers=access)).status_code == 200
        assert await runtime.cache.get(user_cache.status_key(user.user_id)) == "1"
        body = {"user_ids": [str(user.user_id)], "status": 0}
        response = await client.put("/mis/v1_0/users", json=body, headers=headers)
        assert response.status_code == 201 and response.json()["data"] == {"count": 1}
        assert_error(await client.get("/app/v1_0/user", headers=access), 403)
        assert_error(await client.put("/app/v1_0/authorizations", headers=refresh), 403)
        assert_error(await client.get("/mp/v1_0/user/profile", headers=access), 403)
        assert_error(await client.put("/mp/v1_0/authorizations", headers=refresh), 403)
        assert await runtime.cache.get(user_cache.status_key(user.user_id)) == "0"
        body["status"] = 1
        assert (await client.put("/mis/v1_0/users", json=body, headers=headers)).status_code == 201
        assert (await client.get("/app/v1_0/user", headers=access)).status_code == 200
        ops = [r.operation for r in await log_rows(runtime)]
        assert ops == ["user.freeze", "user.unfreeze"]

    async def test_all_or_nothing(self, client, runtime, staff, factory):
        headers = await staff.headers("userlist-put")
        user = await factory.user()
        put = client.put
        for body in (
            {"user_ids": [user.user_id, 424242], "status": 0},
            {"user_ids": [], "status": 0},
            {"user_ids": [user.user_id], "status": 2},
            {"user_ids": list(range(1, 102)), "status": 0},
            {"user_ids": [True], "status": 0},
        ):
            assert_error(await put("/mis/v1_0/users", json=body, headers=headers), 400)
        async with runtime.db.session() as session:
            status = await session.scalar(select(User.status).where(User.user_id == user.user_id))
        assert status == UserStatus.ENABLED
        assert await log_rows(runtime) == []

    async def test_redis_down_before_commit_changes_nothing(
        self, client, runtime, staff, factory, monkeypatch
    ):
        headers = await staff.headers("userlist-put")
        user = await factory.user()

        async def broken(*_args, **_kwargs):
            from redis.exceptions import ConnectionError

            raise ConnectionError("down")

        monkeypatch.setattr(user_cache, "hold_statuses", broken)
        body = {"user_ids": [user.user_id], "status": 0}
        assert_error(await client.put("/mis/v1_0/users", json=body, headers=headers), 507)
        async with runtime.db.session() as session:
            status = await session.scalar(select(User.status).where(User.user_id == user.user_id))
        assert status == UserStatus.ENABLED
        assert await log_rows(runtime) == []

    async def test_status_held_while_the_change_commits(self, runtime, factory):
        user = await factory.user()
        await user_cache.hold_statuses(runtime.cache, [user.user_id])
        assert await runtime.cache.get(user_cache.status_key(user.user_id)) == INVALIDATED
