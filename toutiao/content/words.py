"""The sensitive-word list as staff keep it (mis M57-M61).

Words are unique case-insensitively; weights are integers >= 0. After every committed
change the matcher's version moves (:func:`toutiao.content.sensitive.invalidate`), so the
next submission in any process is checked against the new list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.content import repository, sensitive
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Conflict, NotFound
from toutiao.models import SensitiveWord
from toutiao.models.base import local_now
from toutiao.runtime import Runtime

WORD_MAX = 50
WEIGHT_MAX = 2**31 - 1


class WordNotFound(NotFound):
    message = "Sensitive word not found."


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def word_json(row: SensitiveWord) -> dict[str, Any]:
    return {
        "id": row.id,
        "word": row.word,
        "weights": row.weights,
        "hold_count": row.hold_count,
        "create_time": _iso(row.create_time),
        "update_time": _iso(row.update_time),
    }


def clean_word(word: str) -> str:
    text = word.strip()
    if not 1 <= len(text) <= WORD_MAX:
        raise BadRequest(f"word: 1-{WORD_MAX} characters")
    return text


def clean_weights(weights: int) -> int:
    if not 0 <= weights <= WEIGHT_MAX:
        raise BadRequest("weights: an integer >= 0")
    return weights


def _changed(runtime: Runtime, session: AsyncSession) -> None:
    on_commit(session, lambda: sensitive.invalidate(runtime))


async def _unique(session: AsyncSession, word: str, other_than: int | None = None) -> None:
    if await repository.word_taken(session, word, other_than=other_than):
        raise Conflict(f"The word {word!r} is already in the list.")


async def get(session: AsyncSession, word_id: int) -> SensitiveWord:
    row = await repository.get_word(session, word_id)
    if row is None:
        raise WordNotFound()
    return row


async def create(runtime: Runtime, session: AsyncSession, word: str, weights: int) -> SensitiveWord:
    await _unique(session, word)
    now = local_now()
    row = SensitiveWord(word=word, weights=weights, hold_count=0, create_time=now, update_time=now)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # added in parallel
        raise Conflict(f"The word {word!r} is already in the list.") from exc
    _changed(runtime, session)
    return row


async def edit(
    runtime: Runtime,
    session: AsyncSession,
    word_id: int,
    *,
    word: str | None,
    weights: int | None,
) -> SensitiveWord:
    row = await get(session, word_id)
    if word is not None and word != row.word:
        await _unique(session, word, other_than=word_id)
        row.word = word
    if weights is not None:
        row.weights = weights
    row.update_time = local_now()
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"The word {word!r} is already in the list.") from exc
    _changed(runtime, session)
    return row


async def remove(runtime: Runtime, session: AsyncSession, word_id: int) -> bool:
    removed = await repository.delete_word(session, word_id)
    if removed:
        _changed(runtime, session)
    return removed
