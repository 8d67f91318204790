"""The operation log (mis.md M23)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from tests.api.mis.helpers import assert_error, log_rows
from toutiao.models import OperationLog


class TestOperationLogs:
    async def test_search_and_the_read_is_logged(self, client, runtime, staff):
        viewer = await staff.member(["operationlog-get"])
        headers = staff.headers_for(viewer)
        await client.patch("/mis/v1_0/profile", json={"name": "A"}, headers=headers)
        await client.patch("/mis/v1_0/profile", json={"email": "a@b.cn"}, headers=headers)
        async with runtime.db.session() as session:
            await session.execute(
                update(OperationLog)
                .where(OperationLog.description.like("%email%"))
                .values(create_time=datetime(2020, 1, 2, 10, 0, 0))
            )
            await session.commit()
        response = await client.get("/mis/v1_0/operationlogs", headers=headers)
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["total_count"] == 2
        item = data["operationlogs"][0]
        assert set(item) == {
            "operation_log_id",
            "administrator_id",
            "administrator_name",
            "ip",
            "operation",
            "description",
            "ctime",
        }
        assert item["administrator_name"] == "A" and "name" in item["description"]
        old = await client.get(
            "/mis/v1_0/operationlogs?begin=2020-01-02&end=2020-01-02", headers=headers
        )
        assert [r["description"] for r in old.json()["data"]["operationlogs"]][0].endswith("email")
        kw = await client.get("/mis/v1_0/operationlogs?keyword=PROFILE.upd", headers=headers)
        assert kw.json()["data"]["total_count"] == 2
        views = await client.get(
            "/mis/v1_0/operationlogs?operation=operationlog.view", headers=headers
        )
        assert views.json()["data"]["total_count"] == 3  # the three reads above, each logged
        assert len(await log_rows(runtime, "operationlog.view")) == 4

    async def test_deleted_author_shows_null_name_and_bad_parameters(self, client, runtime, staff):
        viewer = await staff.member(["operationlog-get"])
        headers = staff.headers_for(viewer)
        gone = await staff.member([])
        await client.patch("/mis/v1_0/profile", json={"name": "B"}, headers=staff.headers_for(gone))
        root = await staff.super_admin("root")
        await client.delete(
            f"/mis/v1_0/administrators/{gone.administrator_id}", headers=staff.headers_for(root)
        )
        data = (
            await client.get(
                f"/mis/v1_0/operationlogs?administrator_id={gone.administrator_id}", headers=headers
            )
        ).json()["data"]
        assert data["operationlogs"][0]["administrator_name"] is None
        for query in (
            "begin=2020-02-01&end=2020-01-01",
            "begin=nope",
            "order_by=time",
            "per_page=9",
        ):
            assert_error(await client.get(f"/mis/v1_0/operationlogs?{query}", headers=headers), 400)
