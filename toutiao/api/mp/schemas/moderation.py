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
    total_count: int
    page: int
    per_page: int
    results: list[ModeratedComment]


class OriginalCommentPage(BaseModel):
    """With ``type``: the app's cursor page, plus ``art_*`` for an article's comments."""

    model_config = ConfigDict(extra="allow")

    total_count: int
    end_id: int | None
    last_id: int | None
    results: list[dict[str, Any]]


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
