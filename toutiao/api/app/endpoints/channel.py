"""Channels: all channels and my channel list (app.md E24-E31)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from toutiao.api.app.deps import CurrentUser, OptionalUser
from toutiao.api.app.schemas.channel import (
    ChannelIdsBody,
    ChannelList,
    SeqBody,
    UserChannelOut,
    UserChannelsBody,
    UserChannelsOut,
)
from toutiao.api.deps import PrimaryReadSessionDep, ReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.responses import Envelope, no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.channel import service as channel_service

router = GatedRouter()


@router.get("/v1_0/channels", name="news.channels", response_model=Envelope[ChannelList])
async def list_channels(runtime: RuntimeDep, session: ReadSessionDep) -> dict[str, Any]:
    """All visible channels."""
    return ok({"channels": await channel_service.all_channels(runtime.cache, session)})


@router.get("/v1_0/user/channels", name="user.channels", response_model=Envelope[ChannelList])
async def list_my_channels(
    user_id: OptionalUser, runtime: RuntimeDep, session: PrimaryReadSessionDep
) -> dict[str, Any]:
    """My channels ("推荐" first); the default channels when anonymous or none saved."""
    return ok({"channels": await channel_service.user_channels(runtime.cache, session, user_id)})


@router.post(
    "/v1_0/user/channels",
    name="user.channels_add",
    status_code=201,
    response_model=Envelope[UserChannelsOut],
)
async def add_my_channels(
    body: UserChannelsBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Add channels; 409 (and nothing saved) if I already have one of them."""
    await channel_service.add(runtime.cache, session, user_id, body.items())
    return ok({"channels": body.channels})


@router.patch(
    "/v1_0/user/channels",
    name="user.channels_patch",
    status_code=201,
    response_model=Envelope[UserChannelsOut],
)
async def patch_my_channels(
    body: UserChannelsBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Add or re-order the channels sent; the others are kept."""
    await channel_service.upsert(runtime.cache, session, user_id, body.items(), replace=False)
    return ok({"channels": body.channels})


@router.put(
    "/v1_0/user/channels",
    name="user.channels_put",
    status_code=201,
    response_model=Envelope[UserChannelsOut],
)
async def replace_my_channels(
    body: UserChannelsBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Replace my channel list with exactly the channels sent."""
    await channel_service.upsert(runtime.cache, session, user_id, body.items(), replace=True)
    return ok({"channels": body.channels})


@router.delete(
    "/v1_0/user/channels", name="user.channels_delete", status_code=204, response_class=Response
)
async def delete_my_channels(
    body: ChannelIdsBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Remove several channels (JSON body ``{"channels": [ids]}``)."""
    await channel_service.remove(runtime.cache, session, user_id, body.channels)
    return no_content()


@router.put(
    "/v1_0/user/channels/{target:id}",
    name="user.channel",
    status_code=201,
    response_model=Envelope[UserChannelOut],
)
async def set_my_channel_seq(
    target: int, body: SeqBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Set one channel's order (adds it if I don't have it)."""
    await channel_service.upsert(
        runtime.cache, session, user_id, [(target, body.seq)], replace=False
    )
    return ok({"id": target, "seq": body.seq})


@router.delete(
    "/v1_0/user/channels/{target:id}",
    name="user.channel_delete",
    status_code=204,
    response_class=Response,
)
async def delete_my_channel(
    target: int, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Remove one channel from my list."""
    await channel_service.remove(runtime.cache, session, user_id, [target])
    return no_content()
