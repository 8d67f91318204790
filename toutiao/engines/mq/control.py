"""Control messages on the IM fan-out: closing a user's connections on every node."""

from __future__ import annotations

from typing import Any

from toutiao.engines.mq.base import SIGN_OUT


async def disconnect_room(manager: Any, room: str | None, namespace: str = "/") -> int:
    """Close every connection of this node in ``room`` (a frozen user's sockets)."""
    if room is None:  # never "everyone"
        return 0
    sids = [sid for sid, _eio in manager.get_participants(namespace, room)]
    for sid in sids:
        await manager.server.disconnect(sid, namespace=namespace, ignore_queue=True)
    return len(sids)


class SignOutAware:
    """Mixin for the IM nodes' pub/sub managers: the ``SIGN_OUT`` control event closes the
    room's local connections instead of being delivered to them."""

    server: Any

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("event") == SIGN_OUT:
            await disconnect_room(self, message.get("room"), message.get("namespace") or "/")
            return
        await super()._handle_emit(message)  # type: ignore[misc]
