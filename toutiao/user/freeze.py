"""Freezing and unfreezing app users (staff action, mis.md M26), felt everywhere at once.

A frozen user is refused on the very next request on /app and /mp (access and refresh
tokens alike: both surfaces ask :func:`toutiao.user.service.is_enabled`), and their open
Socket.IO connections are closed. The status cache is held by a tombstone from before the
commit, set to the new value after it, and dropped from every process's L1 by a broadcast;
the IM nodes get a sign-out through the notification fan-out. Content is left as it is.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.engines.mq.base import SIGN_OUT
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest
from toutiao.models.enums import UserStatus
from toutiao.runtime import Runtime
from toutiao.user import cache as user_cache
from toutiao.user import repository

log = logging.getLogger("toutiao.user")


def check_targets(wanted: list[int], found: set[int]) -> None:
    """Every listed user must exist (the batch is all or nothing)."""
    missing = [user_id for user_id in wanted if user_id not in found]
    if missing:
        raise BadRequest(f"user_ids: unknown users {', '.join(map(str, missing))}")


async def set_users_status(
    runtime: Runtime, session: AsyncSession, user_ids: list[int], status: UserStatus
) -> int:
    """Give every listed user ``status``; returns how many there are. Redis must be up: the
    status cache is held before the change commits, so no process can keep the old value."""
    check_targets(user_ids, await repository.existing_user_ids(session, user_ids))
    await user_cache.hold_statuses(runtime.cache, user_ids)
    await repository.set_status(session, user_ids, status)
    enabled = status == UserStatus.ENABLED

    async def spread() -> None:
        await user_cache.publish_statuses(runtime.cache, user_ids, enabled)
        broadcast = runtime.broadcast
        if broadcast is not None:
            await broadcast.publish(user_cache.STATUS_TOPIC, ",".join(map(str, user_ids)))
        if not enabled:
            for user_id in user_ids:
                await runtime.notifier.emit(SIGN_OUT, {}, str(user_id))

    on_commit(session, spread)
    return len(user_ids)
