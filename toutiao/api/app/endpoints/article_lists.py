"""Paged article lists: my articles, a user's articles, my collections, my history (E36-E39)."""

from __future__ import annotations

from typing import Any

from toutiao.api.app.deps import CurrentUser, OptionalUser
from toutiao.api.app.paging import PagingDep
from toutiao.api.app.schemas.article import ArticlePage, LikedArticlePage
from toutiao.api.deps import PrimaryReadSessionDep, ReadSessionDep, RuntimeDep
from toutiao.api.responses import Envelope, ok
from toutiao.api.routing import GatedRouter
from toutiao.article import lists as list_service

router = GatedRouter()


@router.get("/v1_0/user/articles", name="user.articles", response_model=Envelope[ArticlePage])
async def list_my_articles(
    user_id: CurrentUser, paging: PagingDep, runtime: RuntimeDep, session: ReadSessionDep
) -> dict[str, Any]:
    """My published articles, newest first."""
    page = await list_service.my_articles(
        runtime, session, user_id, page=paging.page, per_page=paging.per_page
    )
    return ok(page)


@router.get(
    "/v1_0/users/{user_id:id}/articles",
    name="user.user_articles",
    response_model=Envelope[LikedArticlePage],
)
async def list_user_articles(
    user_id: int,
    viewer_id: OptionalUser,
    paging: PagingDep,
    runtime: RuntimeDep,
    session: ReadSessionDep,
) -> dict[str, Any]:
    """A user's published articles, newest first, with whether I liked each."""
    page = await list_service.user_articles(
        runtime, session, viewer_id, user_id, page=paging.page, per_page=paging.per_page
    )
    return ok(page)


@router.get(
    "/v1_0/article/collections",
    name="news.collections_list",
    response_model=Envelope[LikedArticlePage],
)
async def list_my_collections(
    user_id: CurrentUser, paging: PagingDep, runtime: RuntimeDep, session: PrimaryReadSessionDep
) -> dict[str, Any]:
    """The articles I collected, most recently collected first."""
    page = await list_service.my_collections(
        runtime, session, user_id, page=paging.page, per_page=paging.per_page
    )
    return ok(page)


@router.get(
    "/v1_0/user/histories", name="user.histories", response_model=Envelope[LikedArticlePage]
)
async def list_my_history(
    user_id: CurrentUser, paging: PagingDep, runtime: RuntimeDep, session: PrimaryReadSessionDep
) -> dict[str, Any]:
    """The articles I read, most recent first (at most 100)."""
    page = await list_service.my_history(
        runtime, session, user_id, page=paging.page, per_page=paging.per_page
    )
    return ok(page)
