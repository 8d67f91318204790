"""The operation log (mis.md §1.8): one append-only row per successful staff write.

:func:`record` adds the row to the caller's session, so it commits or rolls back with the
change it describes: a failed insert fails the request (507) and nothing is kept, and a
failed request leaves no row. Descriptions never carry passwords, tokens or captcha values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.like import any_contains
from toutiao.models import OperationLog
from toutiao.models.base import local_now
from toutiao.staff import repository

OPERATION_MAX = 50
DESCRIPTION_MAX = 200


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: the operation log's ``administrator_id`` and ``ip``."""

    administrator_id: int
    ip: str


def clip(text: str, limit: int = DESCRIPTION_MAX) -> str:
    """One line, at most ``limit`` characters, ending with ``…`` when cut."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def ids_text(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def record(session: AsyncSession, actor: Actor, operation: str, description: str) -> None:
    if not operation or len(operation) > OPERATION_MAX:
        raise ValueError(f"operation name {operation!r} must be 1-{OPERATION_MAX} characters")
    session.add(
        OperationLog(
            administrator_id=actor.administrator_id,
            ip=actor.ip[:45],
            operation=operation,
            description=clip(description),
            create_time=local_now(),
        )
    )
    session.info["audit_rows"] = session.info.get("audit_rows", 0) + 1


def rows_recorded(session: AsyncSession) -> int:
    return int(session.info.get("audit_rows", 0))


@dataclass(frozen=True)
class LogQuery:
    keyword: str | None = None
    begin: datetime | None = None
    end: datetime | None = None
    administrator_id: int | None = None
    operation: str | None = None
    order_by: str | None = None  # "id": id descending; None: newest first


class LogOut(TypedDict):
    operation_log_id: int
    administrator_id: int
    administrator_name: str | None
    ip: str
    operation: str
    description: str
    ctime: str


async def list_logs(
    session: AsyncSession, query: LogQuery, offset: int, limit: int
) -> tuple[list[LogOut], int]:
    where: list[ColumnElement[bool]] = []
    if query.keyword:
        columns = [OperationLog.operation, OperationLog.description]
        where.append(any_contains(columns, query.keyword))
    if query.begin is not None:
        where.append(OperationLog.create_time >= query.begin)
    if query.end is not None:
        where.append(OperationLog.create_time <= query.end)
    if query.administrator_id is not None:
        where.append(OperationLog.administrator_id == query.administrator_id)
    if query.operation is not None:
        where.append(OperationLog.operation == query.operation)
    order = (
        [OperationLog.operation_log_id.desc()]
        if query.order_by == "id"
        else [OperationLog.create_time.desc(), OperationLog.operation_log_id.desc()]
    )
    rows, total = await repository.paged(
        session, repository.logs_query(where), order, offset, limit
    )
    return [_log_out(row[0], row[1]) for row in rows], total


def _log_out(row: OperationLog, name: str | None) -> LogOut:
    return {
        "operation_log_id": row.operation_log_id,
        "administrator_id": row.administrator_id,
        "administrator_name": name,
        "ip": row.ip,
        "operation": row.operation,
        "description": row.description,
        "ctime": row.create_time.isoformat(timespec="seconds"),
    }
