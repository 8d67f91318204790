"""Wire schemas of the comment endpoints (app.md E47-E50)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from toutiao.api.types import Id


class CommentItem(BaseModel):
    com_id: int
    aut_id: int
    aut_name: str
    aut_photo: str | None
    like_count: int
    reply_count: int
    pubdate: str
    content: str
    is_top: int
    is_liking: bool


class CommentPage(BaseModel):
    total_count: int
    end_id: int | None
    last_id: int | None
    results: list[CommentItem]


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target: Annotated[Id, Field(description="article id, or the comment id for a reply")]
    content: Annotated[str, Field(description="1-200 characters after trimming spaces")]
    art_id: Annotated[
        Id | None,
        Field(description="the article of the comment replied to; omit or null otherwise"),
    ] = None


class CommentCreated(BaseModel):
    com_id: int
    target: int
    art_id: int
    new_obj: CommentItem


class CommentTarget(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target: Annotated[Id, Field(description="comment or reply id")]


class CommentTargetOut(BaseModel):
    target: int
