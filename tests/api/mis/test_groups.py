"""Groups and grants (mis.md M13-M17)."""

from __future__ import annotations

from sqlalchemy import select

from tests.api.mis.helpers import assert_error, log_rows
from toutiao.models import Permission

ALL = ("group-list-get", "group-list-post", "group-get", "group-put", "group-delete")


async def permission_ids(runtime, *codes: str) -> list[int]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(Permission.permission_id).where(Permission.code.in_(codes))
        )
        return sorted(rows.all())


class TestGroups:
    async def test_create_get_update_delete(self, client, runtime, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        ids = await permission_ids(runtime, "user-get", "userlist-get")
        body = {"name": "Reviewers", "permission_ids": [ids[0], str(ids[1]), ids[0]]}
        response = await client.post("/mis/v1_0/groups", json=body, headers=headers)
        assert response.status_code == 201, response.text
        group = response.json()["data"]
        assert group == {
            "group_id": group["group_id"],
            "name": "Reviewers",
            "remark": "",
            "status": 1,
        }
        url = f"/mis/v1_0/groups/{group['group_id']}"
        detail = (await client.get(url, headers=headers)).json()["data"]
        checked = {n["permission_id"] for n in _walk(detail["permission_tree"]) if n["checked"]}
        assert checked == set(ids)
        new_ids = await permission_ids(runtime, "user-get", "legalize-get")
        changed = await client.put(
            url, json={"remark": "r", "permission_ids": new_ids, "status": 0}, headers=headers
        )
        assert changed.status_code == 201 and changed.json()["data"]["remark"] == "r"
        detail = (await client.get(url, headers=headers)).json()["data"]
        assert {
            n["permission_id"] for n in _walk(detail["permission_tree"]) if n["checked"]
        } == set(new_ids)
        listed = await client.get("/mis/v1_0/groups?status=0", headers=headers)
        assert [g["name"] for g in listed.json()["data"]["groups"]] == ["Reviewers"]
        assert (await client.delete(url, headers=headers)).status_code == 204
        assert (await client.delete(url, headers=headers)).status_code == 204
        ops = [r.operation for r in await log_rows(runtime)]
        assert ops == ["group.create", "group.update", "group.delete", "group.delete"]
        update_row = (await log_rows(runtime, "group.update"))[0]
        assert "+1 -1" in update_row.description

    async def test_errors(self, client, runtime, staff):
        boss = await staff.member(list(ALL))
        headers = staff.headers_for(boss)
        await client.post("/mis/v1_0/groups", json={"name": "Taken"}, headers=headers)
        assert_error(
            await client.post("/mis/v1_0/groups", json={"name": "Taken"}, headers=headers), 409
        )
        bad = {"name": "X", "permission_ids": [999999]}
        assert_error(await client.post("/mis/v1_0/groups", json=bad, headers=headers), 400)
        assert_error(await client.post("/mis/v1_0/groups", json={"name": ""}, headers=headers), 400)
        assert_error(await client.get("/mis/v1_0/groups/999999", headers=headers), 404)
        own = f"/mis/v1_0/groups/{boss.group_id}"
        assert_error(await client.put(own, json={"status": 0}, headers=headers), 400)
        assert_error(await client.put(own, json={"name": "Taken"}, headers=headers), 409)
        assert_error(await client.put("/mis/v1_0/groups/999999", json={}, headers=headers), 404)
        assert_error(await client.delete(own, headers=headers), 409)
        assert [r.operation for r in await log_rows(runtime)] == ["group.create"]

    async def test_grant_change_takes_effect_on_next_request(self, client, runtime, staff):
        boss = await staff.member(list(ALL))
        member = await staff.member(["user-get"])
        member_headers = staff.headers_for(member)
        assert_error(await client.get("/mis/v1_0/groups", headers=member_headers), 403)
        ids = await permission_ids(runtime, "group-list-get")
        url = f"/mis/v1_0/groups/{member.group_id}"
        await client.put(url, json={"permission_ids": ids}, headers=staff.headers_for(boss))
        assert (await client.get("/mis/v1_0/groups", headers=member_headers)).status_code == 200
        await client.put(url, json={"status": 0}, headers=staff.headers_for(boss))
        assert_error(await client.get("/mis/v1_0/groups", headers=member_headers), 403)


def _walk(nodes):
    for node in nodes:
        yield node
        yield from _walk(node["children"])
