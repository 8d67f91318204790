"""Wire schemas of the mp article endpoints (mp.md §3.6-§3.11)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from toutiao.api.types import Id, StrictInt
from toutiao.content.authoring import ArticleInput
from toutiao.models.enums import CoverType

DATETIME = "%Y-%m-%d %H:%M:%S"


def parse_flag(value: Any) -> bool:
    """Query booleans as axios writes them (``true``/``false``), or ``1``/``0``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError("must be true or false")


def parse_day(value: Any) -> date:
    text = str(value)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError("must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("must be a valid date YYYY-MM-DD") from exc


def strict_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


QueryFlag = Annotated[bool, BeforeValidator(parse_flag)]
Day = Annotated[date, BeforeValidator(parse_day)]
JsonBool = Annotated[bool, BeforeValidator(strict_bool)]


def timestamp(moment: datetime) -> str:
    return moment.strftime(DATETIME)


class CoverIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Annotated[
        StrictInt, Field(description="-1 automatic, 0 none, 1 one image, 3 three images")
    ]
    images: list[str | None] = Field(default_factory=list, max_length=9)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: int) -> int:
        if value not in {int(t) for t in CoverType}:
            raise ValueError("must be -1, 0, 1 or 3")
        return value


class ArticleBody(BaseModel):
    """Sent by create and update; the update sends back the whole detail object, so other
    keys (``id``, ``status``, ``pubdate``...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    title: Annotated[str, Field(max_length=200, description="5-30 characters, trimmed")]
    content: str = Field(description="HTML from the editor; sanitised on the server")
    cover: CoverIn = Field(default_factory=lambda: CoverIn(type=0))
    channel_id: Id

    def to_input(self) -> ArticleInput:
        return ArticleInput(
            title=self.title,
            content=self.content,
            cover_type=self.cover.type,
            cover_images=list(self.cover.images),
            channel_id=self.channel_id,
        )


class CommentSwitch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    allow_comment: JsonBool


class Cover(BaseModel):
    type: int
    images: list[str]


class ArticleListItem(BaseModel):
    id: int
    title: str
    status: int
    pubdate: str
    cover: Cover
    channel_id: int
    comment_count: int
    allow_comment: bool
    reject_reason: str | None = None


class ArticleStatisticItem(ArticleListItem):
    """The list item plus the counters of §6.4, for a "content analytics" table."""

    read_count: int
    like_count: int
    dislike_count: int
    collect_count: int
    repost_count: int
    fans_comment_count: int


class ArticleCommentItem(BaseModel):
    id: int
    title: str
    total_comment_count: int
    fans_comment_count: int
    comment_status: bool


class ArticlePage(BaseModel):
    total_count: int
    page: int
    per_page: int
    results: list[ArticleStatisticItem] | list[ArticleListItem] | list[ArticleCommentItem]


class ArticleDetail(BaseModel):
    id: int
    title: str
    content: str
    cover: Cover
    channel_id: int
    status: int
    pubdate: str
    reject_reason: str | None = None


class ArticleId(BaseModel):
    id: int


class CommentSwitched(BaseModel):
    article_id: int
    allow_comment: bool


ResponseType = Literal["comment", "statistic"]
