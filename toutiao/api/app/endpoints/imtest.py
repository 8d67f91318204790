"""E08 ``GET /app/imtest/:event``: emit a sample notification so clients can test handlers.

Routable only outside production, or in demo mode (the original left its test endpoint open
in production, reference §14.43). A deployment that wants it anyway sets ``IMTEST_ENABLED``.
It needs a logged-in caller and reaches only that caller's own connections: an anonymous
broadcast would let anyone push fake notifications to every client.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from toutiao.api.app.deps import CurrentUser
from toutiao.api.deps import RuntimeDep
from toutiao.api.responses import ok
from toutiao.api.routing import GatedRouter
from toutiao.config import Environment, Settings
from toutiao.kit.errors import NotFound
from toutiao.notify import COMMENT, FOLLOWING, LIKING, now_ms

router = GatedRouter()

EVENTS = {"f": FOLLOWING, "l": LIKING, "c": COMMENT}
SAMPLE_ACTOR = {"user_id": 1, "user_name": "头条测试用户", "user_photo": None}
SAMPLE_ARTICLE = {"art_id": 1, "art_title": "这是一条测试通知"}


def imtest_enabled(settings: Settings) -> bool:
    explicit = getattr(settings, "IMTEST_ENABLED", None)
    if explicit is not None:
        return bool(explicit)
    return settings.DEMO or Environment.production != settings.ENV


async def _routable(event: str, runtime: RuntimeDep) -> None:
    """An unknown event, or a deployment without the endpoint, is a path that does not exist."""
    if event not in EVENTS or not imtest_enabled(runtime.settings):
        raise NotFound("Wrong access path.")


@router.get("/imtest/{event}", name="im.imtest", dependencies=[Depends(_routable)])
async def trigger_test_notification(
    event: str, runtime: RuntimeDep, user_id: CurrentUser
) -> dict[str, Any]:
    """Emit a sample f/l/c notification to the caller's own connections."""
    name = EVENTS[event]
    payload: dict[str, Any] = dict(SAMPLE_ACTOR)
    if name != FOLLOWING:
        payload.update(SAMPLE_ARTICLE)
    payload["timestamp"] = now_ms()
    await runtime.notifier.emit(name, payload, str(user_id))
    return ok(payload)
