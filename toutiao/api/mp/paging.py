"""Page-based paging of the mp lists (mp.md §1.5).

``page`` ≥ 1 (default 1), 1 ≤ ``per_page`` ≤ 100 with a default per list (10 for articles
and comments, 20 for images and followers); anything else is a 400. A page past the end
answers ``results: []`` with the right ``total_count``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from toutiao.api.types import StrictInt

MAX_PER_PAGE = 100
MAX_PAGE = 2**31 - 1


@dataclass(frozen=True)
class MpPaging:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def body(self, results: list[Any], total_count: int) -> dict[str, Any]:
        return {
            "total_count": total_count,
            "page": self.page,
            "per_page": self.per_page,
            "results": results,
        }


def paging(default_per_page: int) -> Callable[..., Awaitable[MpPaging]]:
    async def get_paging(
        page: Annotated[StrictInt, Query(ge=1, le=MAX_PAGE, description="page, from 1")] = 1,
        per_page: Annotated[
            StrictInt, Query(ge=1, le=MAX_PER_PAGE, description="page size, at most 100")
        ] = default_per_page,
    ) -> MpPaging:
        return MpPaging(page=page, per_page=per_page)

    return get_paging


ListPaging = Annotated[MpPaging, Depends(paging(10))]
ImagePaging = Annotated[MpPaging, Depends(paging(20))]
