"""System announcements (app.md E02-E03)."""

from __future__ import annotations

from typing import Any

from toutiao.announcement import service as announcement_service
from toutiao.api.app.paging import PagingDep
from toutiao.api.app.schemas.announcement import AnnouncementDetail, AnnouncementPage
from toutiao.api.deps import ReadSessionDep, RuntimeDep
from toutiao.api.responses import Envelope, ok
from toutiao.api.routing import GatedRouter

router = GatedRouter()


@router.get(
    "/v1_0/announcements",
    name="notice.announcements",
    response_model=Envelope[AnnouncementPage],
)
async def list_announcements(
    paging: PagingDep, runtime: RuntimeDep, session: ReadSessionDep
) -> dict[str, Any]:
    """Published announcements, newest first."""
    page = await announcement_service.announcements(
        runtime.cache, session, page=paging.page, per_page=paging.per_page
    )
    return ok(page)


@router.get(
    "/v1_0/announcements/{target:id}",
    name="notice.announcement",
    response_model=Envelope[AnnouncementDetail],
)
async def get_announcement(
    target: int, runtime: RuntimeDep, session: ReadSessionDep
) -> dict[str, Any]:
    """One published announcement with its content (400 if unknown)."""
    return ok(await announcement_service.announcement(runtime.cache, session, target))
