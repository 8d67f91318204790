"""Follow and blacklist (app.md E18-E23)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.api.app.deps import CurrentUser
from toutiao.api.app.paging import PagingDep
from toutiao.api.app.schemas.relation import FollowPage, TargetBody, TargetOut
from toutiao.api.deps import RuntimeDep, SessionDep
from toutiao.api.responses import Envelope, no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.relation import service as relation_service

router = GatedRouter()


async def get_primary_read_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A reading session on the primary for my own lists: a miss refills the list cache, often
    right after my follow dropped it, and a lagging replica's copy would then stay cached for
    half an hour. Not a write session: on SQLite those queue behind every writer."""
    async with AsyncSession(runtime.db.primary, expire_on_commit=False) as session:
        yield session


PrimaryReadSessionDep = Annotated[AsyncSession, Depends(get_primary_read_session, scope="function")]


@router.post(
    "/v1_0/user/followings",
    name="user.followings_add",
    status_code=201,
    response_model=Envelope[TargetOut],
)
async def follow_user(
    body: TargetBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Follow a user (201 again if I already follow them)."""
    await relation_service.follow(runtime, session, user_id, body.target)
    return ok({"target": body.target})


@router.delete(
    "/v1_0/user/followings/{target:id}",
    name="user.followings_delete",
    status_code=204,
    response_class=Response,
)
async def unfollow_user(
    target: int, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Unfollow a user (204 even if I did not follow them)."""
    await relation_service.unfollow(runtime, session, user_id, target)
    return no_content()


@router.get("/v1_0/user/followings", name="user.followings", response_model=Envelope[FollowPage])
async def list_followings(
    user_id: CurrentUser, paging: PagingDep, runtime: RuntimeDep, session: PrimaryReadSessionDep
) -> dict[str, Any]:
    """Users I follow, most recently followed first."""
    page = await relation_service.followings(
        runtime, session, user_id, page=paging.page, per_page=paging.per_page
    )
    return ok(page)


@router.get("/v1_0/user/followers", name="user.followers", response_model=Envelope[FollowPage])
async def list_followers(
    user_id: CurrentUser, paging: PagingDep, runtime: RuntimeDep, session: PrimaryReadSessionDep
) -> dict[str, Any]:
    """My followers, most recent first."""
    page = await relation_service.followers(
        runtime, session, user_id, page=paging.page, per_page=paging.per_page
    )
    return ok(page)


@router.post(
    "/v1_0/user/blacklists",
    name="user.blacklists",
    status_code=201,
    response_model=Envelope[TargetOut],
)
async def blacklist_user(
    body: TargetBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Blacklist a user: follows between us end, and they can no longer follow me."""
    await relation_service.blacklist(runtime, session, user_id, body.target)
    return ok({"target": body.target})


@router.delete(
    "/v1_0/user/blacklists/{target:id}",
    name="user.blacklists_delete",
    status_code=204,
    response_class=Response,
)
async def unblacklist_user(
    target: int, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Remove a user from my blacklist (204 even if they were not on it)."""
    await relation_service.unblacklist(runtime, session, user_id, target)
    return no_content()
