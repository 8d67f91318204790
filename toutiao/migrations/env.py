"""Alembic environment: migrates the database named by the ``sqlalchemy.url`` main option.

Built for ``toutiao.kit.migrate`` (which makes the Config in code) and for the root
``alembic.ini`` used by developers. A caller may also pass an open *sync* connection in
``config.attributes["connection"]`` (tests that run the migration inside a fixture).
"""

from __future__ import annotations

import asyncio
import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import event, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_engine_from_config

from toutiao.models import Base
from toutiao.models.base import IntEnumType

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

if not config.get_main_option("sqlalchemy.url"):
    # Developers running `alembic` with the root alembic.ini get the app's database.
    from toutiao.config import settings

    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))


def _drop_primary_key_name_notes(record: logging.LogRecord) -> bool:
    # MariaDB answers every named PRIMARY KEY with a note, which asyncmy logs as a warning.
    return "ignored for PRIMARY key" not in record.getMessage()


# env.py is executed afresh on every migration run: install the filter once per process.
_asyncmy_log = logging.getLogger("asyncmy")
if not any(
    getattr(f, "__name__", "") == "_drop_primary_key_name_notes" for f in _asyncmy_log.filters
):
    _asyncmy_log.addFilter(_drop_primary_key_name_notes)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not depend on the models' Python types: enums are plain SMALLINTs.
    if type_ == "type" and isinstance(obj, IntEnumType):
        return "sa.SmallInteger()"
    return False


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_item": _render_item,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        "render_as_batch": dialect_name == "sqlite",
    }


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(str(url).split(":", 1)[0].split("+", 1)[0]),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def _transactional_sqlite(engine: AsyncEngine) -> None:
    """Make each migration atomic on SQLite.

    The sqlite3 module never opens a transaction before DDL, so a failed migration would
    leave half its tables behind; emitting BEGIN ourselves makes the DDL transactional.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


async def run_async_migrations() -> None:
    engine = async_engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    if engine.dialect.name == "sqlite":
        _transactional_sqlite(engine)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
