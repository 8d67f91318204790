"""The operations walk of issue 9 (tests/e2e/mis_walk.py) against the application
in-process, as ``toutiao serve --demo`` runs it with auto-approval off: the demo super-admin
exists, the universal SMS code signs users in, the recommender answers over gRPC on loopback,
the search index is real (Tantivy)."""

from __future__ import annotations

import pytest

from tests.e2e.mis_walk import Walk
from tests.e2e.test_publish_to_app import engine, reco  # noqa: F401 - fixtures
from toutiao.kit.db import commit
from toutiao.staff.seed import DEMO_ACCOUNT, DEMO_PASSWORD, create_admin
from toutiao.stats import rollup


@pytest.fixture
async def demo(runtime, factory):
    settings = runtime.settings
    saved = settings.SMS_UNIVERSAL_CODE, settings.MP_AUTO_APPROVE
    settings.SMS_UNIVERSAL_CODE, settings.MP_AUTO_APPROVE = "246810", False
    async with runtime.db.session() as session:
        await create_admin(session, DEMO_ACCOUNT, DEMO_PASSWORD, "Demo admin")
        await commit(session)
    await factory.channels(["科技", "体育"])
    yield
    settings.SMS_UNIVERSAL_CODE, settings.MP_AUTO_APPROVE = saved


async def test_walk(client, runtime, demo, reco, engine):  # noqa: F811
    async def rolled_up() -> None:
        await rollup.rollup_job(runtime.db, runtime.store)

    walk = Walk(client, DEMO_ACCOUNT, DEMO_PASSWORD, say=lambda _: None, rollup=rolled_up)
    steps = await walk.run()
    assert len(steps) == 11
