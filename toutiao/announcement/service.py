"""Published announcements: a paged list and one announcement (app.md E02-E03).

Cached in three levels: a few seconds in-process (L1), Redis (cache role), the database.

- ``announcement:list`` (JSON string): every published ``{id, title, pubdate}``, newest first,
  with a fixed 48 h TTL. It is stored *in database order*, and paged from that order, so the
  cached order can never differ from the database's (the original served its zset by id while
  filling it by publish time, reference-facts §14.12). Not the original's key name: that one
  held a zset, and a string under the same name would clash with a migrated Redis.
- ``announcement:{id}`` (JSON string) ``{id, title, content, pubdate}``, or the absent marker
  ``-1`` for an unknown or unpublished id (anti-penetration).

Staff changes call :func:`forget`, and publish the ``announcements`` broadcast topic so that
every other process drops its L1 copy too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cachetools import TTLCache
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import broadcast
from toutiao.kit.cache import TTL, cached_json, invalidate
from toutiao.kit.errors import BadRequest
from toutiao.models import Announcement
from toutiao.models.enums import AnnouncementStatus

LIST_KEY = "announcement:list"
LIST_TTL = TTL(172800, 0)
DETAIL_TTL = TTL(7200, 600)
ABSENT_TTL = TTL(300, 60)
L1_SECONDS = 5

_MISSING = object()
_l1: TTLCache[str, Any] = TTLCache(maxsize=1024, ttl=L1_SECONDS)
# Staff changes drop the L1 of every process at once (kit/broadcast.py, topic "announcements").
BROADCAST_TOPIC = "announcements"
broadcast.register(BROADCAST_TOPIC, drop=lambda _key: _l1.clear(), reset=_l1.clear)


class AnnouncementNotFound(BadRequest):
    """Unknown and unpublished ids are a 400: the contract lists no 404 here (app.md §5.24)."""

    message = "Invalid announcement id."


def detail_key(announcement_id: int) -> str:
    return f"announcement:{announcement_id}"


def _pubdate(publish_time: datetime | None, create_time: datetime) -> str:
    return (publish_time or create_time).replace(microsecond=0).isoformat()


def _published() -> Any:
    return Announcement.status == AnnouncementStatus.PUBLISHED


async def _all_published(cache: Any, session: AsyncSession) -> list[dict[str, Any]]:
    hit = _l1.get(LIST_KEY)
    if hit is not None:
        return hit  # type: ignore[no-any-return]

    async def load() -> list[dict[str, Any]]:
        published_at = func.coalesce(Announcement.publish_time, Announcement.create_time)
        rows = await session.execute(
            select(
                Announcement.announcement_id,
                Announcement.title,
                Announcement.publish_time,
                Announcement.create_time,
            )
            .where(_published())
            .order_by(published_at.desc(), Announcement.announcement_id.desc())
        )
        return [
            {"id": row.announcement_id, "title": row.title, "pubdate": _pubdate(*row[2:])}
            for row in rows
        ]

    items = await cached_json(cache, LIST_KEY, load, ttl=LIST_TTL, absent_ttl=ABSENT_TTL) or []
    _l1[LIST_KEY] = items
    return items  # type: ignore[no-any-return]


async def announcements(
    cache: Any, session: AsyncSession, *, page: int, per_page: int
) -> dict[str, Any]:
    """One page of published announcements, newest first; past the end, ``results: []``."""
    items = await _all_published(cache, session)
    start = (page - 1) * per_page
    return {
        "page": page,
        "per_page": per_page,
        "results": items[start : start + per_page],
        "total_count": len(items),
    }


async def announcement(cache: Any, session: AsyncSession, announcement_id: int) -> dict[str, Any]:
    """``{id, title, content, pubdate}`` of a published announcement, else 400."""
    key = detail_key(announcement_id)
    found = _l1.get(key, _MISSING)
    if found is _MISSING:

        async def load() -> dict[str, Any] | None:
            row = await session.scalar(
                select(Announcement).where(
                    Announcement.announcement_id == announcement_id, _published()
                )
            )
            if row is None:
                return None
            return {
                "id": row.announcement_id,
                "title": row.title,
                "content": row.content,
                "pubdate": _pubdate(row.publish_time, row.create_time),
            }

        found = await cached_json(cache, key, load, ttl=DETAIL_TTL, absent_ttl=ABSENT_TTL)
        _l1[key] = found
    if found is None:
        raise AnnouncementNotFound()
    return found  # type: ignore[return-value]


async def forget(cache: Any, *announcement_ids: int) -> None:
    """Call after staff publish, edit or withdraw announcements: drops the list and the given
    announcements from Redis (tombstones) and from this process's L1."""
    clear_local_cache()
    await invalidate(cache, LIST_KEY, *(detail_key(i) for i in announcement_ids))


def clear_local_cache() -> None:
    _l1.clear()
