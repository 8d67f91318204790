"""Who may act on whom across a blacklist. Every action that reaches another user (liking or
disliking their article, collecting it, commenting on it or replying to their comment,
liking their comment) is refused when either of the two blacklisted the other; each domain
asks here instead of checking the relation itself.

Following is the one exception the contract spells out (app.md E18): following a user I
blacklisted clears my blacklist entry, while following a user who blacklisted me is refused
(``relation.service.follow``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.errors import Forbidden
from toutiao.relation import service as relation_service
from toutiao.runtime import Runtime


class Blocked(Forbidden):
    message = "You cannot interact with this user."


async def ensure_may_interact(
    runtime: Runtime,
    session: AsyncSession,
    actor: int,
    others: Iterable[int | None],
    message: str = "You cannot interact with this user.",
) -> None:
    """403 when ``actor`` and any of ``others`` (oneself and unknown users skipped) are in a
    blacklist relation, in either direction."""
    for other in sorted({o for o in others if o is not None and o != actor}):
        if await relation_service.blocked_between(runtime, session, actor, other):
            raise Blocked(message)
