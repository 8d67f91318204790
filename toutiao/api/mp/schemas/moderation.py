"""Wire schemas of comment moderation (mp.md §6.7, §8.2 item 8)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from toutiao.api.types import Id


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


class ReplyBody(BaseModel):
    """The original server's author reply: all three fields are required."""

    model_config = ConfigDict(extra="ignore")

    target: Annotated[Id, Field(description="the comment replied to")]
    content: Annotated[str, Field(description="1-200 characters after trimming spaces")]
    art_id: Annotated[Id, Field(description="the article of that comment")]


class Replied(BaseModel):
    com_id: int
    target: int
    art_id: int


class LikeBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target: Annotated[Id, Field(description="comment or reply id")]


class Liked(BaseModel):
    target: int
