"""Wire schemas of the image library (mp.md §3.12-3.15)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictBool


class UploadedImage(BaseModel):
    id: int
    url: str


class LibraryImage(BaseModel):
    id: int
    url: str
    is_collected: bool
    create_time: str


class LibraryPage(BaseModel):
    total_count: int
    page: int
    per_page: int
    results: list[LibraryImage]


class StarBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    collect: StrictBool


class Starred(BaseModel):
    id: int
    collect: bool
