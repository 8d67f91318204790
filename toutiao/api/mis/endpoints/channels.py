"""Channels and pinned articles (mis.md M31-M36)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import Field

from toutiao.api.deps import ReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.mis.deps import AuditDep
from toutiao.api.mis.params import Flag, PagingDep, check_order
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Body
from toutiao.api.responses import no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import Id, StrictInt, parse_id
from toutiao.channel import management as channels
from toutiao.channel.repository import ChannelFilter
from toutiao.kit.errors import BadRequest, NotFound
from toutiao.staff.audit import ids_text

router = GatedRouter(route_class=StaffRoute)

ORDERS = ("id", "sequence")


def _flag_query(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    if value.strip() not in ("0", "1"):
        raise BadRequest(f"{name}: 0 or 1")
    return value.strip() == "1"


@router.get("/v1_0/channels", name="mis.channels")
@requires("channel-list-get")
async def list_channels(
    session: ReadSessionDep,
    paging: PagingDep,
    channel_id: Annotated[str | None, Query()] = None,
    keyword: Annotated[str | None, Query(max_length=32)] = None,
    is_visible: Annotated[str | None, Query()] = None,
    is_default: Annotated[str | None, Query()] = None,
    order_by: Annotated[str | None, Query(description="id or sequence")] = None,
) -> dict[str, Any]:
    """M31: channels with their article counts."""
    try:
        wanted = None if channel_id is None else parse_id(channel_id)
    except ValueError:
        raise BadRequest("channel_id: a positive integer") from None
    where = ChannelFilter(
        channel_id=wanted,
        keyword=keyword or None,
        is_visible=_flag_query("is_visible", is_visible),
        is_default=_flag_query("is_default", is_default),
        order_by=check_order(order_by, ORDERS),
    )
    items, total = await channels.list_channels(
        session, where, offset=paging.offset, limit=paging.per_page
    )
    return ok(paging.body("channels", items, total))


class ChannelBody(Body):
    name: str | None = None
    is_visible: Flag | None = None
    sequence: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] | None = None
    is_default: Flag | None = None


class ChannelCreateBody(ChannelBody):
    name: str
    is_visible: Flag


@router.post("/v1_0/channels", name="mis.channels_create", status_code=201)
@requires("channel-list-post")
async def create_channel(
    body: ChannelCreateBody, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M32: a new channel; the app and mp see it on their next request."""
    row = await channels.create(
        runtime,
        session,
        name=channels.clean_name(body.name),
        is_visible=bool(body.is_visible),
        sequence=body.sequence or 0,
        is_default=bool(body.is_default),
    )
    log.log("channel.create", f"create channel {row.channel_id} {row.channel_name}")
    return ok(channels.channel_json(row))


@router.put("/v1_0/channels/{target:id}", name="mis.channel_update", status_code=201)
@requires("channel-list-put")
async def update_channel(
    target: int, body: ChannelBody, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M33: edit name, visibility, order or default membership (only the fields sent)."""
    changes = channels.ChannelChanges(
        name=None if body.name is None else channels.clean_name(body.name),
        is_visible=None if body.is_visible is None else bool(body.is_visible),
        sequence=body.sequence,
        is_default=None if body.is_default is None else bool(body.is_default),
    )
    row = await channels.edit(runtime, session, target, changes)
    log.log("channel.update", f"update channel {target}: {', '.join(changes.sent()) or 'nothing'}")
    return ok(channels.channel_json(row))


@router.delete(
    "/v1_0/channels/{target:id}",
    name="mis.channel_delete",
    status_code=204,
    response_class=Response,
)
@requires("channel-list-delete")
async def delete_channel(
    target: int, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> Response:
    """M34: delete a channel no article belongs to (204 also when it does not exist)."""
    await channels.remove(runtime, session, target)
    log.log("channel.delete", f"delete channel {target}")
    return no_content()


def _channel_path(target: str) -> int:
    """Channel ids in the pinned-list paths: 0 (the recommended channel) is allowed."""
    if not (target.isascii() and target.isdigit()) or len(target) > 19:
        raise NotFound("Channel not found.")
    return int(target)


@router.get("/v1_0/channels/{target}/top_articles", name="mis.channel_top")
@requires("channel-top-get")
async def get_pinned(target: str, runtime: RuntimeDep, session: ReadSessionDep) -> dict[str, Any]:
    """M35: the pinned articles of a channel (0 = recommended), top first."""
    return ok(await channels.pinned(runtime.store, session, _channel_path(target)))


class PinnedBody(Body):
    article_ids: list[Id]


@router.put("/v1_0/channels/{target}/top_articles", name="mis.channel_top_update", status_code=201)
@requires("channel-top-put")
async def replace_pinned(
    target: str, body: PinnedBody, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M36: replace the pinned list (0-10 ids, first = top); ``[]`` removes every pin."""
    channel_id = _channel_path(target)
    data = await channels.check_pinned(session, channel_id, body.article_ids)
    log.log(
        "channel.top.update",
        f"pin articles [{ids_text(body.article_ids)}] in channel {channel_id}",
    )
    await session.flush()  # the log row first: no pin change without its row (else 507)
    await channels.save_pinned(runtime.store, channel_id, body.article_ids)
    return ok(data)
