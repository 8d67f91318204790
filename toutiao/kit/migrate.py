"""Run the package's Alembic migrations from code (no alembic.ini needed at runtime).

The migration environment runs its own event loop (``asyncio.run``), so the sync
functions must be called from a thread without a running loop; the async wrappers do
that through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from toutiao.models import Base

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # The Config is an INI parser: a literal "%" (URL-encoded password) must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_sync(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


async def upgrade(database_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade_sync, database_url, revision)


def downgrade_sync(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


async def downgrade(database_url: str, revision: str = "base") -> None:
    await asyncio.to_thread(downgrade_sync, database_url, revision)


def current_revision_sync(database_url: str) -> str | None:
    return asyncio.run(current_revision(database_url))


async def current_revision(database_url: str) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    return await _run_on(database_url, read)


def schema_diff_sync(database_url: str) -> list[Any]:
    return asyncio.run(schema_diff(database_url))


async def schema_diff(database_url: str) -> list[Any]:
    """Differences between the models and the live schema (empty when in sync)."""

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    return await _run_on(database_url, diff)


async def _run_on(database_url: str, fn: Callable[[Connection], T]) -> T:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()
