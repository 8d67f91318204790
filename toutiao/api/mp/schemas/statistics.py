"""Wire schemas of the author analytics and fans (mp.md §6.4-6.6, §8.2 items 5-6)."""

from __future__ import annotations

from pydantic import BaseModel


class ArticleStatistics(BaseModel):
    article_id: int
    read_count: int
    like_count: int
    dislike_count: int
    collect_count: int
    repost_count: int
    comment_count: int
    fans_comment_count: int


class AuthorSummary(BaseModel):
    article_count: int
    approved_count: int
    pending_count: int
    rejected_count: int
    draft_count: int
    fans_count: int
    read_count: int
    like_count: int
    comment_count: int
    collect_count: int


class Follower(BaseModel):
    id: int
    name: str
    photo: str
    fans_count: int
    mutual_follow: bool


class FollowerPage(BaseModel):
    total_count: int
    page: int
    per_page: int
    results: list[Follower]


class GenderCounts(BaseModel):
    male: int
    female: int
    unknown: int


class AgeCount(BaseModel):
    range: str
    count: int


class AreaCount(BaseModel):
    name: str
    count: int


class Audience(BaseModel):
    total_count: int
    gender: GenderCounts
    age: list[AgeCount]
    area: list[AreaCount]


class GenderOnly(BaseModel):
    male: int
    female: int
