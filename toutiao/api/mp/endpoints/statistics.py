"""Author analytics and fans (mp.md §6.4-6.6; the original's gender counts, §8.2 item 6)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends

from toutiao.api.deps import ReadSessionDep, RuntimeDep
from toutiao.api.mp.deps import Author
from toutiao.api.mp.paging import MpPaging, paging
from toutiao.api.mp.schemas.statistics import (
    ArticleStatistics,
    Audience,
    AuthorSummary,
    FollowerPage,
    GenderOnly,
)
from toutiao.api.responses import Envelope, ok
from toutiao.api.routing import GatedRouter
from toutiao.relation import audience as audience_service
from toutiao.relation import service as relation_service
from toutiao.stats import authors as author_stats

router = GatedRouter()

FollowerPaging = Annotated[MpPaging, Depends(paging(20))]


@router.get(
    "/v1_0/articles/{article_id:id}/statistics",
    name="mp.article_statistics",
    response_model=Envelope[ArticleStatistics],
)
async def get_article_statistics(
    article_id: int, author: Author, runtime: RuntimeDep, session: ReadSessionDep
) -> dict[str, Any]:
    """Reads, likes, dislikes, collections, reposts and comments of one of my articles."""
    return ok(await author_stats.article_statistics(runtime, session, author, article_id))


@router.get(
    "/v1_0/statistics/summary", name="mp.statistics_summary", response_model=Envelope[AuthorSummary]
)
async def get_summary(
    author: Author, runtime: RuntimeDep, session: ReadSessionDep
) -> dict[str, Any]:
    """My dashboard: articles per status, followers, reads, likes, comments, collections."""
    return ok(await author_stats.author_summary(runtime, session, author))


@router.get("/v1_0/followers", name="mp.followers", response_model=Envelope[FollowerPage])
async def list_followers(
    author: Author, runtime: RuntimeDep, session: ReadSessionDep, page: FollowerPaging
) -> dict[str, Any]:
    """My followers, most recent first (the app's follower items)."""
    found = await relation_service.followers(
        runtime, session, author, page=page.page, per_page=page.per_page
    )
    results = [dict(item, photo=item["photo"] or "") for item in found["results"]]
    return ok(page.body(results, found["total_count"]))


@router.get(
    "/v1_0/statistics/followers", name="mp.statistics_followers", response_model=Envelope[Audience]
)
async def get_audience(author: Author, session: ReadSessionDep) -> dict[str, Any]:
    """My followers by gender, age range and area."""
    return ok(await audience_service.audience(session, author, today=date.today()))  # noqa: DTZ011


@router.get(
    "/v1_0/statistics/followers/gender",
    name="mp.statistics_followers_gender",
    response_model=Envelope[GenderOnly],
)
async def get_gender(author: Author, session: ReadSessionDep) -> dict[str, Any]:
    """My followers by gender, in the original server's shape ``{male, female}``."""
    found = await audience_service.audience(session, author, today=date.today())  # noqa: DTZ011
    return ok({"male": found["gender"]["male"], "female": found["gender"]["female"]})
