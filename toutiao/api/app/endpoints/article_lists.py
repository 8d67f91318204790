"""Paged article lists: my articles, a user's articles, my collections, my history (E36-E39)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.api.app.deps import CurrentUser, OptionalUser
from toutiao.api.app.paging import PagingDep
from toutiao.api.app.schemas.article import ArticlePage, LikedArticlePage
from toutiao.api.deps import ReadSessionDep, RuntimeDep
from toutiao.api.responses import Envelope, ok
from toutiao.article import lists as list_service

router = APIRouter()


async def get_primary_read_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A reading session on the primary, for my collections and my history.

    They refill per-user caches right after my own writes tombstoned them; a lagging
    replica's rows would then be cached as current. Not a write session either: on SQLite
    those BEGIN IMMEDIATE and would queue every read behind the writers.
    """
    async with AsyncSession(runtime.db.primary, expire_on_commit=False) as session:
        yield session


PrimaryReadSessionDep = Annotated[AsyncSession, Depends(get_primary_read_session, scope="function")]


@router.get("/v1_0/user/articles", name="user.articles", response_model=Envelope[ArticlePage])
async def list_my_articles(
    user_id: CurrentUser, paging: PagingDep, runtime: RuntimeDep, session: ReadSessionDep
) -> dict:
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
) -> dict:
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
) -> dict:
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
) -> dict:
    """The articles I read, most recent first (at most 100)."""
    page = await list_service.my_history(
        runtime, session, user_id, page=paging.page, per_page=paging.per_page
    )
    return ok(page)
