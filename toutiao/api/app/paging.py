"""Page-based paging of the app's lists (app.md §1.7, §5.38).

``page`` ≥ 1 (default 1) and 1 ≤ ``per_page`` ≤ 50 (default 10); anything else, or a value
that is not an integer, is a 400 (the app renders RequestValidationError as 400). A page past
the end is not an error: the list answers ``results: []``.

    @router.get("/v1_0/things")
    async def list_things(paging: PagingDep) -> dict: ...  # paging.page, paging.offset
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from toutiao.api.types import StrictInt

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 50
# Bounded so that ``offset`` always fits the database's and Redis's 64-bit integers.
MAX_PAGE = 2**31 - 1


@dataclass(frozen=True)
class Paging:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        """Items before this page (SQL ``OFFSET``; the first rank of a Redis range)."""
        return (self.page - 1) * self.per_page

    @property
    def last(self) -> int:
        """The last rank of this page, inclusive (ZRANGE/LRANGE ``stop``)."""
        return self.offset + self.per_page - 1

    def body(self, results: list[Any], total_count: int) -> dict[str, Any]:
        """The usual paged ``data``: ``{page, per_page, results, total_count}``."""
        return {
            "page": self.page,
            "per_page": self.per_page,
            "results": results,
            "total_count": total_count,
        }


async def get_paging(
    page: Annotated[StrictInt, Query(ge=1, le=MAX_PAGE, description="page number, from 1")] = 1,
    per_page: Annotated[
        StrictInt,
        Query(ge=1, le=MAX_PER_PAGE, description=f"page size, 1-{MAX_PER_PAGE}"),
    ] = DEFAULT_PER_PAGE,
) -> Paging:
    return Paging(page=page, per_page=per_page)


PagingDep = Annotated[Paging, Depends(get_paging)]
