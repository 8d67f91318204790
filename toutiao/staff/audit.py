"""The operation log (mis.md §1.8): one append-only row per successful staff write.

:func:`record` adds the row to the caller's session, so it commits or rolls back with the
change it describes: a failed insert fails the request (507) and nothing is kept, and a
failed request leaves no row. Descriptions never carry passwords, tokens or captcha values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.models import OperationLog
from toutiao.models.base import local_now

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
