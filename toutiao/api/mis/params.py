"""Input rules shared by every /mis endpoint (mis.md §1.4, §1.5, §1.9, §1.10).

- ``Id`` (api/types.py): a JSON integer or a string of digits, > 0; path ids use the
  ``{target:id}`` convertor, so anything else in a path is a 404.
- ``IdList``: 1-100 ids, duplicates collapsed (order kept).
- ``Flag``: 0 or 1; JSON ``true``/``false`` count as 1/0.
- ``PagingDep``: ``page`` >= 1 (default 1), ``per_page`` 10-50 (default 20); the list body
  echoes both next to ``total_count``.
- ``parse_begin`` / ``parse_end``: ``YYYY-MM-DD HH:MM:SS`` or a bare date (00:00:00 for
  ``begin``, 23:59:59 for ``end``); ``check_range`` refuses ``begin`` after ``end``.
- Keyword filters: kit/like.py (case-insensitive, ``%`` and ``_`` taken literally).
- ``check_order``: ``order_by`` must be one of the endpoint's values (else 400).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import AfterValidator, BeforeValidator

from toutiao.api.types import Id, StrictInt, parse_int
from toutiao.kit.errors import BadRequest
from toutiao.kit.like import contains, like_pattern

__all__ = ["contains", "like_pattern"]  # re-exported: keyword filters live in kit/like.py

MAX_BATCH = 100
DEFAULT_PER_PAGE = 20
MIN_PER_PAGE = 10
MAX_PER_PAGE = 50
MAX_PAGE = 2**31 - 1


def _flag(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    number = parse_int(value)
    if number not in (0, 1):
        raise ValueError("must be 0 or 1")
    return number


def _distinct(ids: list[int]) -> list[int]:
    unique = list(dict.fromkeys(ids))
    if not 1 <= len(unique) <= MAX_BATCH:
        raise ValueError(f"must hold 1-{MAX_BATCH} ids")
    return unique


Flag = Annotated[int, BeforeValidator(_flag)]
IdList = Annotated[list[Id], AfterValidator(_distinct)]


@dataclass(frozen=True)
class Paging:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def body(self, key: str, items: list[Any], total_count: int) -> dict[str, Any]:
        """``{<key>: [...], total_count, page, per_page}``."""
        return {
            key: items,
            "total_count": total_count,
            "page": self.page,
            "per_page": self.per_page,
        }


async def get_paging(
    page: Annotated[StrictInt, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[StrictInt, Query(ge=MIN_PER_PAGE, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
) -> Paging:
    return Paging(page=page, per_page=per_page)


PagingDep = Annotated[Paging, Depends(get_paging)]

_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def _parse_moment(value: str, name: str, day_time: time) -> datetime:
    text = value.strip()
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 - server-local naive times
        except ValueError:
            pass
    try:
        return datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), day_time)  # noqa: DTZ007
    except ValueError:
        raise BadRequest(f"{name}: expected YYYY-MM-DD HH:MM:SS or YYYY-MM-DD") from None


def parse_begin(value: str | None) -> datetime | None:
    return None if value is None else _parse_moment(value, "begin", time(0, 0, 0))


def parse_end(value: str | None) -> datetime | None:
    return None if value is None else _parse_moment(value, "end", time(23, 59, 59))


def check_range(begin: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    low, high = parse_begin(begin), parse_end(end)
    if low is not None and high is not None and low > high:
        raise BadRequest("begin must not be later than end.")
    return low, high


def check_order(order_by: str | None, allowed: Collection[str]) -> str | None:
    if order_by is not None and order_by not in allowed:
        raise BadRequest(f"order_by: one of {', '.join(sorted(allowed))}")
    return order_by
