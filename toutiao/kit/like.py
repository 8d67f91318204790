"""Case-insensitive substring filters with ``%`` and ``_`` matched literally (SQLite, MariaDB)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_


def like_pattern(keyword: str) -> str:
    escaped = keyword.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column: Any, keyword: str) -> ColumnElement[bool]:
    return func.lower(column).like(like_pattern(keyword), escape="\\")


def any_contains(columns: list[Any], keyword: str) -> ColumnElement[bool]:
    return or_(*(contains(column, keyword) for column in columns))
