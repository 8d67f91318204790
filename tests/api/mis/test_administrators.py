"""Staff accounts (mis.md M07-M12)."""

from __future__ import annotations

from tests.api.mis.helpers import assert_error, log_rows
from tests.fixtures.staff import PASSWORD

ALL = (
    "administrator-list-get",
    "administrator-list-post",
    "administrator-get",
    "administrator-put",
    "administrator-delete",
)


async def new_admin(client, headers, group_id: int, account: str = "alice", **extra):
    body = {"account": account, "password": "pass1234", "name": "Alice", "group_id": group_id}
    return await client.post("/mis/v1_0/administrators", json={**body, **extra}, headers=headers)


class TestList:
    async def test_filters_paging_and_order(self, client, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        other_group = await staff.group([])
        for i in range(3):
            await staff.member(group_id=other_group, account=f"zed_{i}")
        response = await client.get("/mis/v1_0/administrators?order_by=id", headers=headers)
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["total_count"] == 4 and (data["page"], data["per_page"]) == (1, 20)
        ids = [a["administrator_id"] for a in data["administrators"]]
        assert ids == sorted(ids)
        item = data["administrators"][0]
        assert set(item) == {
            "administrator_id",
            "account",
            "name",
            "email",
            "mobile",
            "group_id",
            "group_name",
            "access_count",
            "status",
            "last_login",
        }
        by_group = await client.get(
            f"/mis/v1_0/administrators?group_id={other_group}", headers=headers
        )
        assert by_group.json()["data"]["total_count"] == 3
        # "_" is literal: "zed_" matches the three, "zed%" nothing
        kw = await client.get("/mis/v1_0/administrators?keyword=ZED_", headers=headers)
        assert kw.json()["data"]["total_count"] == 3
        kw = await client.get("/mis/v1_0/administrators?keyword=zed%25", headers=headers)
        assert kw.json()["data"]["total_count"] == 0
        status0 = await client.get("/mis/v1_0/administrators?status=0", headers=headers)
        assert status0.json()["data"]["total_count"] == 0

    async def test_bad_parameters(self, client, staff):
        headers = await staff.headers("administrator-list-get")
        for query in ("per_page=5", "per_page=51", "page=0", "order_by=name", "status=2"):
            assert_error(
                await client.get(f"/mis/v1_0/administrators?{query}", headers=headers), 400
            )


class TestCreate:
    async def test_create_and_log(self, client, runtime, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        response = await new_admin(
            client, headers, boss.group_id, email="a@b.cn", mobile="13912345678", status=0
        )
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert (data["account"], data["status"], data["email"]) == ("alice", 0, "a@b.cn")
        assert data["access_count"] == 0 and data["last_login"] is None
        rows = await log_rows(runtime, "administrator.create")
        assert len(rows) == 1 and str(data["administrator_id"]) in rows[0].description
        assert "pass1234" not in rows[0].description

    async def test_errors(self, client, runtime, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        assert_error(await new_admin(client, headers, 999999), 400)
        assert_error(await new_admin(client, headers, boss.group_id, account="1abc"), 400)
        assert_error(await new_admin(client, headers, boss.group_id, password="onlyletters"), 400)
        assert_error(await new_admin(client, headers, True), 400)
        assert (await new_admin(client, headers, str(boss.group_id))).status_code == 201
        assert_error(await new_admin(client, headers, boss.group_id), 409)
        assert len(await log_rows(runtime, "administrator.create")) == 1


class TestOne:
    async def test_get_and_404(self, client, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        response = await client.get(
            f"/mis/v1_0/administrators/{boss.administrator_id}", headers=headers
        )
        assert response.json()["data"]["account"] == boss.account
        assert_error(await client.get("/mis/v1_0/administrators/999999", headers=headers), 404)
        assert_error(await client.get("/mis/v1_0/administrators/abc", headers=headers), 404)
        assert_error(await client.get("/mis/v1_0/administrators/0", headers=headers), 404)


class TestUpdate:
    async def test_edit_other_disables_and_password_kicks_out(self, client, runtime, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        target = await staff.member([])
        target_headers = staff.headers_for(target)
        url = f"/mis/v1_0/administrators/{target.administrator_id}"
        response = await client.put(
            url, json={"name": "Bob", "email": "b@c.cn", "password": "another12"}, headers=headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["data"]["name"] == "Bob"
        assert_error(await client.get("/mis/v1_0/profile", headers=target_headers), 401)
        cleared = await client.put(url, json={"email": ""}, headers=headers)
        assert cleared.json()["data"]["email"] is None
        await client.put(url, json={"status": 0}, headers=headers)
        relogin = await client.post(
            "/mis/v1_0/authorizations", json={"account": target.account, "password": "another12"}
        )
        assert_error(relogin, 403)
        rows = await log_rows(runtime, "administrator.update")
        assert len(rows) == 3 and "password" in rows[0].description
        assert "another12" not in rows[0].description

    async def test_errors(self, client, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        other = await staff.member([], account="taken_one")
        own = f"/mis/v1_0/administrators/{boss.administrator_id}"
        url = f"/mis/v1_0/administrators/{other.administrator_id}"
        assert_error(await client.put(own, json={"status": 0}, headers=headers), 400)
        assert_error(await client.put(own, json={"group_id": other.group_id}, headers=headers), 400)
        assert_error(await client.put(url, json={"group_id": 999999}, headers=headers), 400)
        assert_error(await client.put(url, json={"name": ""}, headers=headers), 400)
        assert_error(await client.put(own, json={"account": "taken_one"}, headers=headers), 409)
        assert_error(
            await client.put("/mis/v1_0/administrators/999999", json={}, headers=headers), 404
        )
        wrong = {"password": "newpass123", "current_password": "nope"}
        assert_error(await client.put(own, json=wrong, headers=headers), 403)
        assert_error(await client.put(own, json={"password": "newpass123"}, headers=headers), 403)
        right = {"password": "newpass123", "current_password": PASSWORD}
        assert (await client.put(own, json=right, headers=headers)).status_code == 201


class TestDelete:
    async def test_batch_and_single(self, client, runtime, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        a, b, c = [await staff.member([]) for _ in range(3)]
        body = {"administrator_ids": [a.administrator_id, str(b.administrator_id), 999999]}
        response = await client.request(
            "DELETE", "/mis/v1_0/administrators", json=body, headers=headers
        )
        assert response.status_code == 204 and response.content == b""
        url = f"/mis/v1_0/administrators/{c.administrator_id}"
        assert (await client.delete(url, headers=headers)).status_code == 204
        assert (await client.delete(url, headers=headers)).status_code == 204
        left = await client.get("/mis/v1_0/administrators", headers=headers)
        assert left.json()["data"]["total_count"] == 1
        rows = await log_rows(runtime, "administrator.delete")
        assert len(rows) == 3 and "999999" not in rows[0].description

    async def test_errors(self, client, runtime, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        own = {"administrator_ids": [boss.administrator_id]}
        delete = client.request
        assert_error(
            await delete("DELETE", "/mis/v1_0/administrators", json=own, headers=headers), 400
        )
        empty = {"administrator_ids": []}
        assert_error(
            await delete("DELETE", "/mis/v1_0/administrators", json=empty, headers=headers), 400
        )
        many = {"administrator_ids": list(range(1, 102))}
        assert_error(
            await delete("DELETE", "/mis/v1_0/administrators", json=many, headers=headers), 400
        )
        url = f"/mis/v1_0/administrators/{boss.administrator_id}"
        assert_error(await client.delete(url, headers=headers), 400)
        assert await log_rows(runtime) == []
