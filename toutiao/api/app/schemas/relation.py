"""Wire schemas of the follow and blacklist endpoints (app.md E18-E23)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from toutiao.api.types import Id


class TargetBody(BaseModel):
    """``{"target": <user id>}``; the id may be a JSON integer or a string of digits."""

    model_config = ConfigDict(extra="ignore")

    target: Id


class TargetOut(BaseModel):
    target: int


class FollowUser(BaseModel):
    id: int
    name: str
    photo: str | None
    fans_count: int
    mutual_follow: bool


class FollowPage(BaseModel):
    total_count: int
    page: int
    per_page: int
    results: list[FollowUser]
