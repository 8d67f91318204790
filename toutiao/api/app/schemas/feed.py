"""Wire schemas of the feeds and the article detail (app.md E32-E34)."""

from __future__ import annotations

from pydantic import BaseModel


class Cover(BaseModel):
    type: int
    images: list[str]


class Trace(BaseModel):
    click: str
    collect: str
    share: str
    read: str


class FeedItem(BaseModel):
    art_id: int
    title: str
    aut_id: int
    aut_name: str
    comm_count: int
    pubdate: str
    is_top: int
    cover: Cover
    trace: Trace


class FeedPage(BaseModel):
    pre_timestamp: int
    results: list[FeedItem]


class FeedV10Page(BaseModel):
    page: int
    per_page: int
    results: list[FeedItem]


class Related(BaseModel):
    art_id: int
    title: str
    tracking: str


class ArticleDetail(BaseModel):
    art_id: int
    title: str
    pubdate: str
    aut_id: int
    aut_name: str
    aut_photo: str | None
    is_followed: bool
    attitude: int
    content: str
    recomments: list[Related]
    is_collected: bool
