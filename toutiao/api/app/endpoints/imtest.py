"""E08 ``GET /app/imtest/:event``: emit a sample notification so clients can test handlers.

Routable only outside production, or in demo mode (the original left its test endpoint open
in production, reference §14.43). A deployment that wants it anyway sets ``IMTEST_ENABLED``.
"""

from __future__ import annotations

from fastapi import APIRouter

from toutiao.api.deps import CredentialsDep, RuntimeDep
from toutiao.api.responses import ok
from toutiao.config import Environment, Settings
from toutiao.engines.mq import EVERYONE
from toutiao.kit.errors import NotFound
from toutiao.notify import COMMENT, FOLLOWING, LIKING, now_ms

router = APIRouter()

EVENTS = {"f": FOLLOWING, "l": LIKING, "c": COMMENT}
SAMPLE_ACTOR = {"user_id": 1, "user_name": "头条测试用户", "user_photo": None}
SAMPLE_ARTICLE = {"art_id": 1, "art_title": "这是一条测试通知"}


def imtest_enabled(settings: Settings) -> bool:
    explicit = getattr(settings, "IMTEST_ENABLED", None)
    if explicit is not None:
        return bool(explicit)
    return settings.DEMO or Environment.production != settings.ENV


@router.get("/imtest/{event}", name="im.imtest")
async def trigger_test_notification(
    event: str, runtime: RuntimeDep, credentials: CredentialsDep
) -> dict:
    """Emit a sample f/l/c notification: to the caller's connections with a valid token, else to all."""
    name = EVENTS.get(event)
    if name is None or not imtest_enabled(runtime.settings):
        raise NotFound("Wrong access path.")
    payload: dict = dict(SAMPLE_ACTOR)
    if name != FOLLOWING:
        payload.update(SAMPLE_ARTICLE)
    payload["timestamp"] = now_ms()
    claims = credentials.claims
    recipient = str(claims.user_id) if claims is not None and not claims.refresh else EVERYONE
    await runtime.notifier.emit(name, payload, recipient)
    return ok(payload)
