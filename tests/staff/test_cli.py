"""``toutiao admin create`` / ``reset-password`` and the demo super-admin (mis.md §1.7)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from toutiao.cli import _demo_admin, app
from toutiao.kit.db import Database
from toutiao.models import Administrator, AdministratorGroup, GroupPermission, Permission
from toutiao.staff.catalog import ALL_CODES


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("TOUTIAO_DATABASE_URL", "TOUTIAO_REDIS_URL", "TOUTIAO_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def counts(data_dir: Path) -> dict[str, int]:
    return asyncio.run(_counts(data_dir))


async def _counts(data_dir: Path) -> dict[str, int]:
    db = Database.from_urls(f"sqlite+aiosqlite:///{data_dir / 'toutiao.db'}")
    try:
        async with db.session() as session:
            result = {}
            for model in (Administrator, AdministratorGroup, GroupPermission, Permission):
                result[model.__tablename__] = await session.scalar(
                    select(func.count()).select_from(model)
                )
            return result
    finally:
        await db.dispose()


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_create_is_idempotent_and_reset_changes_the_password(tmp_path, clean_env):
    created = run(
        "admin",
        "create",
        "--account",
        "boss",
        "--password",
        "abc12345",
        "--name",
        "Boss",
        "--data-dir",
        str(tmp_path),
    )
    assert created.exit_code == 0, created.output
    first = counts(tmp_path)
    assert first["mis_administrator"] == 1 and first["mis_administrator_group"] == 1
    assert first["mis_permission"] == first["mis_group_permission"] == 76
    again = run(
        "admin",
        "create",
        "--account",
        "boss",
        "--password",
        "other1234",
        "--data-dir",
        str(tmp_path),
    )
    assert again.exit_code == 0 and "already exists" in again.output
    assert counts(tmp_path) == first
    assert (
        run(
            "admin",
            "reset-password",
            "--account",
            "boss",
            "--password",
            "newpass99",
            "--data-dir",
            str(tmp_path),
        ).exit_code
        == 0
    )
    assert (
        run(
            "admin",
            "reset-password",
            "--account",
            "nobody",
            "--password",
            "newpass99",
            "--data-dir",
            str(tmp_path),
        ).exit_code
        == 1
    )
    weak = run(
        "admin", "create", "--account", "boss2", "--password", "weak", "--data-dir", str(tmp_path)
    )
    assert weak.exit_code == 2
    bad = run(
        "admin", "create", "--account", "1x", "--password", "abc12345", "--data-dir", str(tmp_path)
    )
    assert bad.exit_code == 2
    assert len(ALL_CODES) == 53


async def test_demo_admin_signs_in(client, runtime):
    await _demo_admin(runtime)
    await _demo_admin(runtime)  # a second demo start changes nothing
    response = await client.post(
        "/mis/v1_0/authorizations", json={"account": "admin", "password": "admin246810"}
    )
    assert response.status_code == 201, response.text
    tree = response.json()["data"]["permission_tree"]
    assert tree and all(node["checked"] == 1 for node in tree)
