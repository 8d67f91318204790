"""Reading durations (app.md E35): a ``read`` behaviour event for the recommender."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.article.attitude import approved_card
from toutiao.kit.errors import BadRequest
from toutiao.recommend.events import append_event
from toutiao.runtime import Runtime
from toutiao.stats import activity

MAX_DURATION = 24 * 3600  # seconds; a longer "read" is a client bug or a forged report


async def record_reading(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int | None,
    article_id: int,
    duration: int,
    trace: str | None,
) -> None:
    """Log that ``article_id`` was read for ``duration`` seconds (by ``user_id`` if known).

    The ``Trace`` header (the feed item's ``read`` value) is required here (app.md §5 item 10);
    its content is opaque: the event log bounds and escapes it, never parses it (facts §14.38).
    """
    trace = (trace or "").strip()
    if not trace:
        raise BadRequest("Trace header is required.")
    if not 0 <= duration <= MAX_DURATION:
        raise BadRequest(f"duration: must be between 0 and {MAX_DURATION} seconds")
    card = await approved_card(runtime, session, article_id)
    await append_event(
        runtime.store,
        action="read",
        user_id=str(user_id) if user_id else "",
        article_id=article_id,
        channel_id=card["ch_id"],
        duration=duration,
        param=trace,
    )
    activity.buffer().duration(article_id, trace, duration)
