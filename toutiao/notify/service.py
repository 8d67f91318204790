"""Building and sending the three notification events after a write commits."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.db import on_commit
from toutiao.notify import EVENTS, now_ms
from toutiao.runtime import Runtime
from toutiao.user import cache as user_cache

log = logging.getLogger("toutiao.notify")


async def actor_payload(runtime: Runtime, session: AsyncSession, actor_id: int) -> dict[str, Any]:
    profile = await user_cache.get_profile(runtime.cache, session, actor_id) or {}
    photo = profile.get("photo")
    return {
        "user_id": actor_id,
        "user_name": profile.get("name", ""),
        "user_photo": runtime.storage.url(photo) if photo else None,
    }


async def notify_after_commit(
    runtime: Runtime,
    session: AsyncSession,
    event: str,
    *,
    actor_id: int,
    recipient_id: int,
    article: dict[str, Any] | None = None,
) -> None:
    """Queue ``event`` for ``recipient_id``'s room, sent once the transaction commits.

    Nothing is sent to yourself (liking your own article), nor when the write rolls back.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification {event!r}")
    if actor_id == recipient_id:
        return
    payload = await actor_payload(runtime, session, actor_id)
    if article is not None:
        payload["art_id"] = article["art_id"]
        payload["art_title"] = article["title"]

    async def send() -> None:
        payload["timestamp"] = now_ms()
        try:
            await runtime.notifier.emit(event, payload, str(recipient_id))
        except Exception:
            log.exception("notify.emit_failed event=%s recipient=%s", event, recipient_id)

    on_commit(session, send)
