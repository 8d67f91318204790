"""Menus and permission points (mis.md M18-M22)."""

from __future__ import annotations

from tests.api.mis.helpers import assert_error, log_rows

ALL = (
    "permission-list-get",
    "permission-list-post",
    "permission-get",
    "permission-put",
    "permission-delete",
)


class TestPermissions:
    async def test_list_filters(self, client, staff):
        headers = await staff.headers(*ALL)
        top = await client.get("/mis/v1_0/permissions?parent_id=0&per_page=50", headers=headers)
        data = top.json()["data"]
        assert data["total_count"] == 6
        assert [p["sequence"] for p in data["permissions"]] == [1, 2, 3, 4, 5, 6]
        points = await client.get("/mis/v1_0/permissions?type=1&keyword=USERLIST", headers=headers)
        assert {p["code"] for p in points.json()["data"]["permissions"]} == {
            "userlist-get",
            "userlist-post",
            "userlist-put",
        }
        every = await client.get("/mis/v1_0/permissions?order_by=id", headers=headers)
        ids = [p["permission_id"] for p in every.json()["data"]["permissions"]]
        assert ids == sorted(ids) and every.json()["data"]["total_count"] == 76
        assert_error(
            await client.get("/mis/v1_0/permissions?parent_id=999999", headers=headers), 400
        )
        assert_error(await client.get("/mis/v1_0/permissions?order_by=x", headers=headers), 400)

    async def test_create_update_delete(self, client, runtime, staff):
        headers = await staff.headers(*ALL)
        menu = await client.post(
            "/mis/v1_0/permissions",
            json={"name": "Menu A", "type": 0, "sequence": 3},
            headers=headers,
        )
        assert menu.status_code == 201, menu.text
        menu_id = menu.json()["data"]["permission_id"]
        point = await client.post(
            "/mis/v1_0/permissions",
            json={"name": "Point A", "type": 1, "parent_id": menu_id, "code": "custom-a"},
            headers=headers,
        )
        assert point.status_code == 201
        point_id = point.json()["data"]["permission_id"]
        got = await client.get(f"/mis/v1_0/permissions/{point_id}", headers=headers)
        assert got.json()["data"]["parent_id"] == menu_id
        moved = await client.put(
            f"/mis/v1_0/permissions/{point_id}",
            json={"parent_id": 0, "sequence": 0},
            headers=headers,
        )
        assert moved.status_code == 201 and moved.json()["data"]["parent_id"] == 0
        await client.put(
            f"/mis/v1_0/permissions/{point_id}", json={"parent_id": menu_id}, headers=headers
        )
        url = f"/mis/v1_0/permissions/{menu_id}"
        assert_error(await client.delete(url, headers=headers), 409)
        assert (await client.delete(url + "?del_children=true", headers=headers)).status_code == 204
        assert_error(await client.get(f"/mis/v1_0/permissions/{point_id}", headers=headers), 404)
        assert (await client.delete(url, headers=headers)).status_code == 204
        ops = [r.operation for r in await log_rows(runtime)]
        assert ops == [
            "permission.create",
            "permission.create",
            "permission.update",
            "permission.update",
            "permission.delete",
            "permission.delete",
        ]
        assert "2 entries" in (await log_rows(runtime, "permission.delete"))[0].description

    async def test_errors(self, client, runtime, staff):
        headers = await staff.headers(*ALL)
        post = client.post
        url = "/mis/v1_0/permissions"
        assert_error(await post(url, json={"name": "P", "type": 1}, headers=headers), 400)
        assert_error(
            await post(url, json={"name": "userlist-get", "type": 0}, headers=headers), 409
        )
        dup_code = {"name": "New", "type": 1, "code": "userlist-get"}
        assert_error(await post(url, json=dup_code, headers=headers), 409)
        point = await post(url, json={"name": "P1", "type": 1, "code": "p1"}, headers=headers)
        point_id = point.json()["data"]["permission_id"]
        under_point = {"name": "P2", "type": 1, "code": "p2", "parent_id": point_id}
        assert_error(await post(url, json=under_point, headers=headers), 400)
        menu = await post(url, json={"name": "M", "type": 0}, headers=headers)
        menu_id = menu.json()["data"]["permission_id"]
        child = await post(
            url, json={"name": "M2", "type": 0, "parent_id": menu_id}, headers=headers
        )
        child_id = child.json()["data"]["permission_id"]
        put = client.put
        cycle = {"parent_id": child_id}
        assert_error(await put(f"{url}/{menu_id}", json=cycle, headers=headers), 400)
        assert_error(
            await put(f"{url}/{menu_id}", json={"parent_id": menu_id}, headers=headers), 400
        )
        assert_error(
            await put(f"{url}/{menu_id}", json={"type": 1, "code": "zz"}, headers=headers), 400
        )
        assert_error(await put(f"{url}/999999", json={"name": "x"}, headers=headers), 404)
        assert_error(await put(f"{url}/{menu_id}", json={"name": "P1"}, headers=headers), 409)
        assert_error(await put(f"{url}/{point_id}", json={"sequence": -1}, headers=headers), 400)
        assert_error(await client.get(f"{url}/999999", headers=headers), 404)
        assert len(await log_rows(runtime)) == 3
