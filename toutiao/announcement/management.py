"""Announcements as staff write them (mis M45-M50); the app reads them through service.py.

Statuses: 0 draft -> 1 published <-> 2 withdrawn; drafts and withdrawn announcements can be
deleted. Every change that alters what the app shows (publishing, withdrawing, editing or
deleting a published announcement) drops the app's caches once the transaction committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.announcement import service as app_view
from toutiao.announcement.repository import AnnouncementFilter, AnnouncementRepository
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Conflict, NotFound
from toutiao.models import Announcement
from toutiao.models.base import local_now
from toutiao.models.enums import AnnouncementStatus
from toutiao.runtime import Runtime

TITLE_MAX = 32
CONTENT_MAX = 20_000
# What a status change may start from: publish from draft or withdrawn, withdraw from published.
ALLOWED_FROM = {
    AnnouncementStatus.PUBLISHED: (AnnouncementStatus.UNPUBLISHED, AnnouncementStatus.WITHDRAWN),
    AnnouncementStatus.WITHDRAWN: (AnnouncementStatus.PUBLISHED,),
}


class AnnouncementNotFound(NotFound):
    message = "Announcement not found."


@dataclass(frozen=True)
class AnnouncementView:
    announcement_id: int
    title: str
    content: str
    status: int
    create_time: datetime
    publish_time: datetime | None
    update_time: datetime

    @classmethod
    def of(cls, row: Announcement) -> AnnouncementView:
        return cls(
            row.announcement_id,
            row.title,
            row.content,
            int(row.status),
            row.create_time,
            row.publish_time,
            row.update_time,
        )

    def as_json(self, *, with_content: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "announcement_id": self.announcement_id,
            "title": self.title,
            "status": self.status,
            "create_time": _iso(self.create_time),
            "publish_time": _iso(self.publish_time),
            "update_time": _iso(self.update_time),
        }
        if with_content:
            data["content"] = self.content
        return data


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat()


def clean_title(title: str) -> str:
    text = title.strip()
    if not 1 <= len(text) <= TITLE_MAX:
        raise BadRequest(f"title: 1-{TITLE_MAX} characters")
    return text


def clean_content(content: str, sanitize: Callable[[str], str]) -> str:
    if not 1 <= len(content) <= CONTENT_MAX:
        raise BadRequest(f"content: 1-{CONTENT_MAX} characters")
    cleaned = sanitize(content)
    if not cleaned.strip():
        raise BadRequest("content: nothing left after removing unsafe markup")
    return cleaned


def _forget_after_commit(runtime: Runtime, session: AsyncSession, announcement_id: int) -> None:
    """The app's caches (Redis and this process's L1), then every other process's L1."""

    async def forget() -> None:
        await app_view.forget(runtime.cache, announcement_id)
        if runtime.broadcast is not None:
            await runtime.broadcast.publish(app_view.BROADCAST_TOPIC, str(announcement_id))

    on_commit(session, forget)


async def list_announcements(
    session: AsyncSession, where: AnnouncementFilter, *, offset: int, limit: int
) -> tuple[list[AnnouncementView], int]:
    rows, total = await AnnouncementRepository.from_session(session).page(
        where, offset=offset, limit=limit
    )
    return [AnnouncementView.of(r) for r in rows], total


async def get(session: AsyncSession, announcement_id: int) -> AnnouncementView:
    row = await AnnouncementRepository.from_session(session).get(announcement_id)
    if row is None:
        raise AnnouncementNotFound()
    return AnnouncementView.of(row)


async def create(
    runtime: Runtime, session: AsyncSession, *, title: str, content: str, publish: bool
) -> AnnouncementView:
    """A draft, or (``publish``) a published announcement the app lists at once."""
    now = local_now()
    row = Announcement(
        title=title,
        content=content,
        status=AnnouncementStatus.PUBLISHED if publish else AnnouncementStatus.UNPUBLISHED,
        publish_time=now if publish else None,
        create_time=now,
        update_time=now,
    )
    AnnouncementRepository.from_session(session).add(row)
    await session.flush()
    if publish:
        _forget_after_commit(runtime, session, row.announcement_id)
    return AnnouncementView.of(row)


async def edit(
    runtime: Runtime,
    session: AsyncSession,
    announcement_id: int,
    *,
    title: str | None,
    content: str | None,
) -> AnnouncementView:
    """Title and/or content, in any status; ``publish_time`` stays."""
    repo = AnnouncementRepository.from_session(session)
    row = await repo.get(announcement_id)
    if row is None:
        raise AnnouncementNotFound()
    if title is not None:
        row.title = title
    if content is not None:
        row.content = content
    row.update_time = local_now()
    await session.flush()
    if row.status == AnnouncementStatus.PUBLISHED:
        _forget_after_commit(runtime, session, announcement_id)
    return AnnouncementView.of(row)


async def set_status(
    runtime: Runtime, session: AsyncSession, announcement_id: int, status: AnnouncementStatus
) -> AnnouncementView:
    """Publish (from draft or withdrawn) or withdraw (from published); else 409."""
    repo = AnnouncementRepository.from_session(session)
    row = await repo.get(announcement_id)
    if row is None:
        raise AnnouncementNotFound()
    allowed = ALLOWED_FROM[status]
    now = local_now()
    values: dict[str, Any] = {"status": status, "update_time": now}
    if status == AnnouncementStatus.PUBLISHED:
        values["publish_time"] = now
    if row.status not in allowed or not await repo.move(announcement_id, allowed, values):
        raise Conflict(
            f"Announcement {announcement_id} cannot go from status {int(row.status)} "
            f"to {int(status)}."
        )
    await repo.refresh(row)
    _forget_after_commit(runtime, session, announcement_id)
    return AnnouncementView.of(row)


async def remove(runtime: Runtime, session: AsyncSession, announcement_id: int) -> bool:
    """Delete a draft or withdrawn announcement; True when a row went. Published: 409."""
    repo = AnnouncementRepository.from_session(session)
    if await repo.delete_unpublished(announcement_id):
        _forget_after_commit(runtime, session, announcement_id)
        return True
    if await repo.get(announcement_id) is not None:
        raise Conflict(f"Announcement {announcement_id} is published: withdraw it first.")
    return False
