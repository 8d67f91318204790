"""Wire schemas of comment moderation (mp.md §6.7, §8.2 item 8)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool


class Commenter(BaseModel):
    id: int
    name: str
    photo: str


class ModeratedComment(BaseModel):
    id: int
    content: str
    pubdate: str
    like_count: int
    reply_count: int
    is_top: bool
    user: Commenter


class ModerationPage(BaseModel):
    """The §6.7 page; with ``type`` the original's cursor form instead (extra keys)."""

    model_config = ConfigDict(extra="allow")

    total_count: int
    page: int | None = None
    per_page: int | None = None
    results: list[ModeratedComment] | list[dict[str, Any]]


class StickyBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sticky: StrictBool


class Sticky(BaseModel):
    target: int
    sticky: bool
