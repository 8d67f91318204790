"""Insert-or-update of many rows in one statement, on SQLite and MySQL/MariaDB alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``rows``; a row whose unique key (``conflict``) exists gets ``update`` columns
    overwritten with the new values. ``conflict`` names the unique key's columns (SQLite
    needs them; MySQL finds the key itself)."""
    if not rows:
        return
    if session.get_bind().dialect.name == "mysql":
        stmt: Any = mysql_insert(table).values(list(rows))
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update})
    else:
        stmt = sqlite_insert(table).values(list(rows))
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict), set_={c: stmt.excluded[c] for c in update}
        )
    await session.execute(stmt)
