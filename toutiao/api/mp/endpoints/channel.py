"""Channels an article can be filed under (mp.md §3.5)."""

from __future__ import annotations

from typing import Any

from toutiao.api.deps import ReadSessionDep, RuntimeDep
from toutiao.api.mp.schemas.auth import MpChannelList
from toutiao.api.responses import Envelope, ok
from toutiao.api.routing import GatedRouter
from toutiao.channel import service as channel_service

router = GatedRouter()


@router.get("/v1_0/channels", name="mp.channels", response_model=Envelope[MpChannelList])
async def list_channels(runtime: RuntimeDep, session: ReadSessionDep) -> dict[str, Any]:
    """Visible channels by sequence, then id (no virtual "recommended" channel). Public."""
    return ok({"channels": await channel_service.all_channels(runtime.cache, session)})
