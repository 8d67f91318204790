"""Verification requests (mis.md M28-M30)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from moto.server import ThreadedMotoServer
from sqlalchemy import select

from tests.api.mis.helpers import assert_error, log_rows
from toutiao.engines.storage import create_storage
from toutiao.models import User, UserLegalizeLog, UserProfile, UserQualification
from toutiao.models.enums import LegalizeStatus, LegalizeType
from toutiao.user import cache as user_cache

CODES = ("legalize-list-get", "legalize-list-put", "legalize-get")


async def request(runtime, user_id: int, kind: LegalizeType, **columns) -> int:
    async with runtime.db.session() as session:
        qualification_id = None
        if kind == LegalizeType.QUALIFICATION:
            q = UserQualification(
                user_id=user_id,
                name="Q",
                industry="news",
                company="Example Media Company Limited",
                position="Editor in chief",
                qualification_img="q/cert.png",
            )
            session.add(q)
            await session.flush()
            qualification_id = q.qualification_id
        row = UserLegalizeLog(
            user_id=user_id, type=kind, qualification_id=qualification_id, **columns
        )
        session.add(row)
        await session.commit()
        return row.legalize_id


class TestLegalizes:
    async def test_list_filters(self, client, runtime, staff, factory):
        headers = await staff.headers(*CODES)
        a, b = await factory.user(name="a"), await factory.user(name="b")
        await request(runtime, a.user_id, LegalizeType.REAL_NAME)
        await request(runtime, b.user_id, LegalizeType.QUALIFICATION)
        await request(runtime, b.user_id, LegalizeType.REAL_NAME, status=LegalizeStatus.REJECTED)

        async def total(query: str) -> int:
            response = await client.get(f"/mis/v1_0/legalizes?{query}", headers=headers)
            assert response.status_code == 200, response.text
            return response.json()["data"]["total_count"]

        assert await total("") == 3
        assert await total("status=1") == 2
        assert await total("type=2") == 1
        assert await total(f"user_id={b.user_id}") == 2
        item = (await client.get("/mis/v1_0/legalizes?order_by=id", headers=headers)).json()
        first = item["data"]["legalizes"][0]
        assert set(first) == {
            "legalize_id",
            "user_id",
            "account",
            "name",
            "create_time",
            "update_time",
            "type",
            "status",
            "reject_reason",
        }
        assert first["name"] == "a"
        for query in ("status=4", "type=3", "order_by=x", "per_page=100"):
            assert_error(await client.get(f"/mis/v1_0/legalizes?{query}", headers=headers), 400)

    async def test_approve_each_type_and_reject(self, client, runtime, staff, factory):
        headers = await staff.headers(*CODES)
        real, media, rejected = [await factory.user() for _ in range(3)]
        r1 = await request(runtime, real.user_id, LegalizeType.REAL_NAME)
        r2 = await request(runtime, media.user_id, LegalizeType.QUALIFICATION)
        r3 = await request(runtime, rejected.user_id, LegalizeType.QUALIFICATION)
        await runtime.cache.set(user_cache.profile_key(media.user_id), '{"stale": 1}')
        body = {"legalize_ids": [r1, str(r2)], "status": 2}
        response = await client.put("/mis/v1_0/legalizes", json=body, headers=headers)
        assert response.status_code == 201 and response.json()["data"] == {"count": 2}
        reject = {"legalize_ids": [r3], "status": 3}
        assert (
            await client.put("/mis/v1_0/legalizes", json=reject, headers=headers)
        ).status_code == 201
        async with runtime.db.session() as session:
            users = {u.user_id: u for u in (await session.scalars(select(User))).all()}
            profile = await session.get(UserProfile, media.user_id)
            reason = await session.scalar(
                select(UserLegalizeLog.reject_reason).where(UserLegalizeLog.legalize_id == r3)
            )
        assert users[real.user_id].is_verified and not users[real.user_id].is_media
        assert users[media.user_id].is_media and not users[media.user_id].is_verified
        assert users[media.user_id].certificate == "Example Media Company Limited"[:30]
        assert profile.register_media_time is not None
        assert not users[rejected.user_id].is_media and reason
        assert await runtime.cache.get(user_cache.profile_key(media.user_id)) != '{"stale": 1}'
        ops = [r.operation for r in await log_rows(runtime)]
        assert ops == ["legalize.approve", "legalize.reject"]

    async def test_all_or_nothing(self, client, runtime, staff, factory):
        headers = await staff.headers(*CODES)
        user = await factory.user()
        pending = await request(runtime, user.user_id, LegalizeType.REAL_NAME)
        done = await request(runtime, user.user_id, LegalizeType.REAL_NAME, status=2)
        put = client.put
        assert_error(
            await put(
                "/mis/v1_0/legalizes",
                json={"legalize_ids": [pending, 99999], "status": 2},
                headers=headers,
            ),
            400,
        )
        assert_error(
            await put(
                "/mis/v1_0/legalizes",
                json={"legalize_ids": [pending, done], "status": 2},
                headers=headers,
            ),
            409,
        )
        for body in (
            {"legalize_ids": [pending], "status": 1},
            {"legalize_ids": [], "status": 2},
            {"legalize_ids": [pending], "status": 3, "reject_reason": "x" * 201},
        ):
            assert_error(await put("/mis/v1_0/legalizes", json=body, headers=headers), 400)
        async with runtime.db.session() as session:
            row = await session.get(UserLegalizeLog, pending)
            verified = await session.scalar(
                select(User.is_verified).where(User.user_id == user.user_id)
            )
        assert row.status == LegalizeStatus.PROCESSING and not verified
        assert await log_rows(runtime) == []

    async def test_one_with_documents_is_logged(self, client, runtime, staff, factory):
        headers = await staff.headers(*CODES)
        user = await factory.user()
        async with runtime.db.session() as session:
            profile = await session.get(UserProfile, user.user_id)
            profile.real_name = "张三"
            profile.id_card_front = "ids/front.png"
            await session.commit()
        real = await request(runtime, user.user_id, LegalizeType.REAL_NAME)
        media = await request(runtime, user.user_id, LegalizeType.QUALIFICATION)
        data = (await client.get(f"/mis/v1_0/legalizes/{real}", headers=headers)).json()["data"]
        assert data["user_profile"]["real_name"] == "张三"
        assert data["user_profile"]["id_card_front"].startswith("http")
        assert data["user_profile"]["id_card_back"] is None
        assert data["user_profile"]["birthday"] == ""
        data = (await client.get(f"/mis/v1_0/legalizes/{media}", headers=headers)).json()["data"]
        assert data["qualification"]["qualification_img"].startswith("http")
        assert_error(await client.get("/mis/v1_0/legalizes/99999", headers=headers), 404)
        assert [r.operation for r in await log_rows(runtime)] == ["legalize.view", "legalize.view"]

    async def test_documents_are_signed_urls_that_expire(self, client, runtime, staff, factory):
        """With a storage that signs (S3), M30's photos are presigned GETs valid 10 minutes."""
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        storage = create_storage(
            f"s3://ids?endpoint=http://{host}:{port}&access_key=t&secret_key=t&region=us-east-1",
            public_url="http://h",
        )
        plain, runtime.storage = runtime.storage, storage
        try:
            user = await factory.user()
            async with runtime.db.session() as session:
                profile = await session.get(UserProfile, user.user_id)
                profile.id_card_front = "ab/front.png"
                await session.commit()
            real = await request(runtime, user.user_id, LegalizeType.REAL_NAME)
            media = await request(runtime, user.user_id, LegalizeType.QUALIFICATION)
            headers = await staff.headers("legalize-get")
            one = (await client.get(f"/mis/v1_0/legalizes/{real}", headers=headers)).json()
            other = (await client.get(f"/mis/v1_0/legalizes/{media}", headers=headers)).json()
        finally:
            runtime.storage = plain
            await storage.close()
            server.stop()
        for url in (
            one["data"]["user_profile"]["id_card_front"],
            other["data"]["qualification"]["qualification_img"],
        ):
            query = parse_qs(urlsplit(url).query)
            assert url.startswith(f"http://{host}:{port}/ids/")
            assert query["X-Amz-Expires"] == ["600"] and query["X-Amz-Signature"]
        assert urlsplit(one["data"]["user_profile"]["id_card_front"]).path == "/ids/ab/front.png"
