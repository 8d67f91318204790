"""Staff sign-in, tokens and the order of checks (mis.md §1.6, M01-M06)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from tests.api.mis.helpers import assert_error, log_rows
from tests.fixtures.staff import PASSWORD
from toutiao.models import Administrator, AdministratorGroup
from toutiao.models.enums import StaffStatus
from toutiao.staff.tokens import issue_token
from toutiao.user.tokens import issue_token as issue_app_token


async def login(client, account: str, password: str = PASSWORD, ip: str | None = None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    body = {"account": account, "password": password}
    return await client.post("/mis/v1_0/authorizations", json=body, headers=headers)


async def set_admin(runtime, admin_id: int, **values) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(Administrator).where(Administrator.administrator_id == admin_id).values(**values)
        )
        await session.commit()


class TestCaptcha:
    async def test_off_by_default(self, client):
        response = await client.get("/mis/v1_0/captchas/anyone")
        assert response.status_code == 200
        assert response.json()["data"] == {
            "success": 0,
            "gt": "",
            "challenge": "",
            "new_captcha": True,
            "enabled": False,
        }

    async def test_throttled_per_ip(self, client):
        for _ in range(20):
            assert (await client.get("/mis/v1_0/captchas/a")).status_code == 200
        assert_error(await client.get("/mis/v1_0/captchas/a"), 429)


class TestLogin:
    async def test_success_returns_tokens_tree_and_counts(self, client, runtime, staff):
        member = await staff.member(["userlist-get"])
        response = await login(client, member.account)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert data["administrator_id"] == member.administrator_id
        assert data["group_id"] == member.group_id
        assert data["name"] == "Staff"
        claims = jwt.decode(data["token"], options={"verify_signature": False})
        assert claims["aud"] == "mis" and claims["refresh"] is False and "iat" in claims
        assert claims["exp"] - claims["iat"] == 2 * 3600
        refresh = jwt.decode(data["refresh_token"], options={"verify_signature": False})
        assert refresh["refresh"] is True and refresh["exp"] - refresh["iat"] == 14 * 86400
        checked = _checked_codes(data["permission_tree"])
        assert checked == {"userlist-get"}
        async with runtime.db.session() as session:
            admin = await session.get(Administrator, member.administrator_id)
        assert admin.access_count == 1 and admin.last_login is not None
        rows = await log_rows(runtime)
        assert [(r.operation, r.administrator_id) for r in rows] == [
            ("login", member.administrator_id)
        ]
        assert member.account in rows[0].description and PASSWORD not in rows[0].description
        profile = await client.get(
            "/mis/v1_0/profile", headers={"Authorization": f"Bearer {data['token']}"}
        )
        assert profile.status_code == 200

    async def test_tree_sorted_and_nested(self, client, staff):
        await staff.super_admin("root")
        tree = (await login(client, "root")).json()["data"]["permission_tree"]
        assert [n["sequence"] for n in tree] == sorted(n["sequence"] for n in tree)
        assert {"permission_id", "name", "type", "parent_id", "code", "sequence"} <= set(tree[0])
        assert all(n["checked"] == 1 for n in _walk(tree))
        users = next(n for n in tree if n["name"] == "用户管理")
        assert users["children"][0]["code"] == "/home/user"
        assert users["children"][0]["children"][0]["children"] == []

    async def test_same_answer_for_unknown_account_and_wrong_password(self, client, staff):
        member = await staff.member([])
        wrong = await login(client, member.account, "wrong-password1")
        unknown = await login(client, "nobody", PASSWORD)
        assert_error(wrong, 403)
        assert_error(unknown, 403)
        assert wrong.json() == unknown.json()

    async def test_missing_fields_are_400(self, client):
        assert_error(await client.post("/mis/v1_0/authorizations", json={"account": "x"}), 400)
        body = {"account": "", "password": "x"}
        assert_error(await client.post("/mis/v1_0/authorizations", json=body), 400)

    async def test_disabled_account_or_group_is_403(self, client, runtime, staff):
        member = await staff.member([], status=StaffStatus.DISABLED)
        assert_error(await login(client, member.account), 403)
        other = await staff.member([])
        async with runtime.db.session() as session:
            await session.execute(
                update(AdministratorGroup)
                .where(AdministratorGroup.group_id == other.group_id)
                .values(status=StaffStatus.DISABLED)
            )
            await session.commit()
        assert_error(await login(client, other.account), 403)
        assert await log_rows(runtime) == []

    async def test_legacy_pbkdf2_hash_is_upgraded(self, client, runtime, staff):
        member = await staff.member([])
        legacy = generate_password_hash(PASSWORD, method="pbkdf2:sha256:50000", salt_length=8)
        assert len(legacy) == 93
        await set_admin(runtime, member.administrator_id, password=legacy)
        assert (await login(client, member.account)).status_code == 201
        async with runtime.db.session() as session:
            stored = await session.scalar(
                select(Administrator.password).where(
                    Administrator.administrator_id == member.administrator_id
                )
            )
        assert stored.startswith("$argon2id$")
        assert (await login(client, member.account)).status_code == 201


class TestThrottle:
    async def test_account_locked_after_five_failures(self, client, staff):
        member = await staff.member([])
        for i in range(5):
            assert_error(await login(client, member.account, "bad", ip=f"10.0.0.{i}"), 403)
        # locked, even with the right password and from another address
        assert_error(await login(client, member.account, ip="10.0.1.1"), 429)
        other = await staff.member([])
        assert (await login(client, other.account)).status_code == 201

    async def test_success_resets_the_failure_count(self, client, staff):
        member = await staff.member([])
        for _ in range(4):
            await login(client, member.account, "bad")
        assert (await login(client, member.account)).status_code == 201
        for _ in range(4):
            await login(client, member.account, "bad")
        assert (await login(client, member.account)).status_code == 201

    async def test_twenty_attempts_per_minute_per_ip(self, client, runtime, staff):
        # 19 attempts counted directly (a slow machine must not stretch them past the
        # minute), then the 20th through HTTP is still answered, the 21st is refused
        rule = runtime.settings.MIS_LOGIN_RATE_PER_IP
        assert rule == "20/minute"
        for _ in range(19):
            await runtime.limiter.hit(rule, "mis:login:ip", "127.0.0.1")
        assert_error(await login(client, "nobody", "x"), 403)
        member = await staff.member([])
        assert_error(await login(client, member.account), 429)
        other_ip = await login(client, member.account, ip="203.0.113.5")  # XFF not trusted
        assert_error(other_ip, 429)


class TestOrderOfChecks:
    async def test_no_or_bad_token_is_401(self, client, runtime, staff):
        assert_error(await client.get("/mis/v1_0/profile"), 401)
        assert_error(await client.get("/mis/v1_0/profile", headers={"Authorization": "x"}), 401)
        bad = {"Authorization": "Bearer not-a-jwt"}
        assert_error(await client.get("/mis/v1_0/profile", headers=bad), 401)
        member = await staff.member([])
        past = datetime.now(UTC) - timedelta(hours=3)
        expired = issue_token(runtime.settings, member.administrator_id, 0, now=past)
        headers = {"Authorization": f"Bearer {expired}"}
        assert_error(await client.get("/mis/v1_0/profile", headers=headers), 401)

    async def test_app_tokens_never_pass_and_staff_tokens_never_pass_the_app(
        self, client, runtime, staff, factory
    ):
        user = await factory.user()
        app_headers = {"Authorization": f"Bearer {issue_app_token(runtime.settings, user.user_id)}"}
        assert_error(await client.get("/mis/v1_0/profile", headers=app_headers), 401)
        member = await staff.member([])
        # an account id that is also a user id: the audience still keeps them apart
        forged = jwt.encode(
            {
                "user_id": member.administrator_id,
                "administrator_id": 1,
                "aud": "mis",
                "exp": datetime.now(UTC) + timedelta(hours=1),
            },
            runtime.settings.JWT_SECRET,
            algorithm="HS256",
        )
        headers = {"Authorization": f"Bearer {forged}"}
        assert_error(await client.get("/app/v1_0/user", headers=headers), 401)
        staff_headers = staff.headers_for(member)
        assert_error(await client.get("/app/v1_0/user", headers=staff_headers), 401)

    async def test_refresh_token_as_access_is_403(self, client, staff):
        member = await staff.member([])
        headers = staff.headers_for(member, refresh=True)
        assert_error(await client.get("/mis/v1_0/profile", headers=headers), 403)

    async def test_deleted_account_is_401(self, client, runtime, staff):
        member = await staff.member([])
        headers = staff.headers_for(member)
        async with runtime.db.session() as session:
            await session.delete(await session.get(Administrator, member.administrator_id))
            await session.commit()
        assert_error(await client.get("/mis/v1_0/profile", headers=headers), 401)

    async def test_disabled_account_then_group_are_403(self, client, runtime, staff):
        member = await staff.member([])
        headers = staff.headers_for(member)
        assert (await client.get("/mis/v1_0/profile", headers=headers)).status_code == 200
        await set_admin(runtime, member.administrator_id, status=StaffStatus.DISABLED)
        assert_error(await client.get("/mis/v1_0/profile", headers=headers), 403)
        await set_admin(runtime, member.administrator_id, status=StaffStatus.ENABLED)
        async with runtime.db.session() as session:
            await session.execute(
                update(AdministratorGroup)
                .where(AdministratorGroup.group_id == member.group_id)
                .values(status=StaffStatus.DISABLED)
            )
            await session.commit()
        assert_error(await client.get("/mis/v1_0/profile", headers=headers), 403)
        refresh = staff.headers_for(member, refresh=True)
        assert_error(await client.put("/mis/v1_0/authorizations", headers=refresh), 403)

    async def test_auth_comes_before_body_validation(self, client):
        response = await client.put(
            "/mis/v1_0/password", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert_error(response, 401)


class TestRefresh:
    async def test_new_access_token(self, client, staff):
        member = await staff.member([])
        response = await client.put(
            "/mis/v1_0/authorizations", headers=staff.headers_for(member, refresh=True)
        )
        assert response.status_code == 201
        token = response.json()["data"]["token"]
        assert set(response.json()["data"]) == {"token"}
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/mis/v1_0/profile", headers=headers)).status_code == 200

    async def test_access_token_or_nothing_is_403(self, client, runtime, staff):
        member = await staff.member([])
        put = client.put
        assert_error(await put("/mis/v1_0/authorizations", headers=staff.headers_for(member)), 403)
        assert_error(await put("/mis/v1_0/authorizations"), 403)
        assert await log_rows(runtime) == []


class TestPassword:
    async def test_change_invalidates_older_tokens(self, client, runtime, staff):
        member = await staff.member([])
        old_access = staff.headers_for(member)
        old_refresh = staff.headers_for(member, refresh=True)
        body = {"old_password": PASSWORD, "password": "newpass123"}
        response = await client.put("/mis/v1_0/password", json=body, headers=old_access)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert_error(await client.get("/mis/v1_0/profile", headers=old_access), 401)
        assert_error(await client.put("/mis/v1_0/authorizations", headers=old_refresh), 403)
        fresh = {"Authorization": f"Bearer {data['token']}"}
        assert (await client.get("/mis/v1_0/profile", headers=fresh)).status_code == 200
        fresh_refresh = {"Authorization": f"Bearer {data['refresh_token']}"}
        assert (
            await client.put("/mis/v1_0/authorizations", headers=fresh_refresh)
        ).status_code == 201
        assert (await login(client, member.account, "newpass123")).status_code == 201
        assert [r.operation for r in await log_rows(runtime)] == ["password.change", "login"]
        assert "newpass123" not in (await log_rows(runtime))[0].description

    async def test_errors(self, client, runtime, staff):
        member = await staff.member([])
        headers = staff.headers_for(member)
        put = client.put
        wrong = {"old_password": "nope", "password": "newpass123"}
        assert_error(await put("/mis/v1_0/password", json=wrong, headers=headers), 403)
        weak = {"old_password": PASSWORD, "password": "short1"}
        assert_error(await put("/mis/v1_0/password", json=weak, headers=headers), 400)
        same = {"old_password": PASSWORD, "password": PASSWORD}
        assert_error(await put("/mis/v1_0/password", json=same, headers=headers), 400)
        assert_error(await put("/mis/v1_0/password", json={"password": "x"}, headers=headers), 400)
        assert await log_rows(runtime) == []


class TestProfile:
    async def test_read_and_edit(self, client, runtime, staff):
        member = await staff.member(["group-get"])
        headers = staff.headers_for(member)
        data = (await client.get("/mis/v1_0/profile", headers=headers)).json()["data"]
        assert data["administrator_id"] == member.administrator_id
        assert data["group_name"].startswith("group") and data["status"] == 1
        assert _checked_codes(data["permission_tree"]) == {"group-get"}
        body = {"name": "New name", "email": "a@b.cn", "mobile": "13912345678", "status": 0}
        response = await client.patch("/mis/v1_0/profile", json=body, headers=headers)
        assert response.status_code == 201, response.text
        out = response.json()["data"]
        assert (out["name"], out["email"], out["mobile"], out["status"]) == (
            "New name",
            "a@b.cn",
            "13912345678",
            1,
        )
        cleared = await client.patch("/mis/v1_0/profile", json={"email": ""}, headers=headers)
        assert cleared.json()["data"]["email"] is None
        assert cleared.json()["data"]["mobile"] == "13912345678"
        rows = await log_rows(runtime, "profile.update")
        assert len(rows) == 2 and "email" in rows[1].description

    async def test_invalid_values_are_400_and_change_nothing(self, client, runtime, staff):
        member = await staff.member([])
        headers = staff.headers_for(member)
        for body in ({"name": ""}, {"email": "nope"}, {"mobile": "123"}, {"name": "x" * 21}):
            assert_error(await client.patch("/mis/v1_0/profile", json=body, headers=headers), 400)
        assert await log_rows(runtime) == []


def _walk(nodes):
    for node in nodes:
        yield node
        yield from _walk(node["children"])


def _checked_codes(tree) -> set[str]:
    return {n["code"] for n in _walk(tree) if n["checked"] and n["type"] == 1}
