"""The audit trail of author writes (mp.md §6.9): one log line per committed write.

Lines go to the ``toutiao.audit`` logger, written only once the transaction committed, so
the trail never shows a write that was rolled back.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.db import on_commit

audit_log = logging.getLogger("toutiao.audit")


def audit(session: AsyncSession, user_id: int, action: str, **target: int | str | bool) -> None:
    """Record ``action`` (e.g. ``image.delete``) by author ``user_id`` after the commit."""
    details = " ".join(f"{name}={value}" for name, value in sorted(target.items()))

    async def write() -> None:
        audit_log.info(
            "mp.%s user_id=%s %s",
            action,
            user_id,
            details,
            extra={"surface": "mp", "action": action, "user_id": user_id, **target},
        )

    on_commit(session, write)
