"""Wire schemas of search, suggestions and search history (app.md E04-E07)."""

from __future__ import annotations

from pydantic import BaseModel

from toutiao.api.app.schemas.article import ArticleItem


class SuggestionOut(BaseModel):
    options: list[str]


class SearchPage(BaseModel):
    page: int
    per_page: int
    results: list[ArticleItem]
    total_count: int


class SearchHistory(BaseModel):
    keywords: list[str]
