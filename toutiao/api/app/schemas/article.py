"""Wire schemas of the article lists and actions (app.md E35-E46)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from toutiao.api.types import Id, StrictInt
from toutiao.article.attitude import REMARK_MAX
from toutiao.article.reading import MAX_DURATION
from toutiao.models.enums import ReportType


class TargetBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target: Annotated[Id, Field(description="article id")]


class TargetOut(BaseModel):
    target: int


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target: Annotated[Id, Field(description="article id")]
    type: Annotated[StrictInt, Field(ge=0, le=int(max(ReportType)), description="report type 0-8")]
    remark: (
        Annotated[str, Field(max_length=REMARK_MAX, description="stored only for type 0 (other)")]
        | None
    ) = None


class ReportOut(BaseModel):
    target: int
    type: int


class ReadingBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    duration: Annotated[StrictInt, Field(ge=0, le=MAX_DURATION, description="seconds read")]
    art_id: Annotated[Id, Field(description="article id")]


class Cover(BaseModel):
    type: int
    images: list[str]


class ArticleItem(BaseModel):
    art_id: int
    title: str
    aut_id: int
    aut_name: str
    comm_count: int
    pubdate: str
    cover: Cover
    like_count: int
    collect_count: int


class LikedArticleItem(ArticleItem):
    is_liking: bool


class ArticlePage(BaseModel):
    page: int
    per_page: int
    results: list[ArticleItem]
    total_count: int


class LikedArticlePage(BaseModel):
    page: int
    per_page: int
    results: list[LikedArticleItem]
    total_count: int
