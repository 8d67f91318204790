"""Wire schemas of the announcement endpoints (app.md E02-E03)."""

from __future__ import annotations

from pydantic import BaseModel


class AnnouncementItem(BaseModel):
    id: int
    title: str
    pubdate: str


class AnnouncementPage(BaseModel):
    page: int
    per_page: int
    results: list[AnnouncementItem]
    total_count: int


class AnnouncementDetail(BaseModel):
    id: int
    title: str
    content: str
    pubdate: str
