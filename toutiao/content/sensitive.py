"""Sensitive words (``recommend_sensitive_word``): one Aho-Corasick automaton finds every
configured word in a text in one pass, whatever the number of words.

Each process keeps the automaton it built, tagged with the word list's version, a counter in
the storage Redis. Whoever changes the words (mis M58-M61) calls :func:`invalidate` after the
commit: the version moves, and every process rebuilds on its next check (one GET per check
tells it). Matching is case-insensitive (both sides case-folded).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.content import repository
from toutiao.runtime import Runtime

log = logging.getLogger("toutiao.content.sensitive")

VERSION_KEY = "sensitive:words:version"


@dataclass(frozen=True)
class Findings:
    """Distinct words found (as configured) and the sum of their weights."""

    words: list[str] = field(default_factory=list)
    weight: int = 0

    def holds(self, threshold: int) -> bool:
        return bool(self.words) and self.weight >= threshold


@dataclass
class Matcher:
    version: str | None
    automaton: Any  # ahocorasick.Automaton, or None when there are no words

    def find(self, text: str) -> Findings:
        if self.automaton is None or not text:
            return Findings()
        seen: dict[str, int] = {}
        for _end, (word, weight) in self.automaton.iter(text.casefold()):
            seen[word] = weight
        return Findings(sorted(seen), sum(seen.values()))


def build(words: list[tuple[str, int]]) -> Any:
    if not words:
        return None
    automaton = ahocorasick.Automaton()
    for word, weight in words:
        folded = word.strip().casefold()
        if folded:
            automaton.add_word(folded, (word, weight))
    automaton.make_automaton()
    return automaton


_current = Matcher(version=None, automaton=None)
_built = False
_lock = asyncio.Lock()


async def _version(runtime: Runtime) -> str | None:
    try:
        raw = await runtime.store.get(VERSION_KEY)
    except RedisError:
        log.warning("sensitive.version_unavailable: using the words built before")
        return _current.version
    return str(raw or "0")


async def matcher(runtime: Runtime, session: AsyncSession) -> Matcher:
    """The automaton for the current word list, rebuilt when the version moved."""
    global _current, _built
    version = await _version(runtime)
    if _built and version == _current.version:
        return _current
    async with _lock:
        if not (_built and version == _current.version):
            words = await repository.sensitive_words(session)
            _current = Matcher(version=version, automaton=build(words))
            _built = True
    return _current


async def find(runtime: Runtime, session: AsyncSession, *texts: str) -> Findings:
    """Words of the list found in any of ``texts`` (e.g. title and plain text): for the
    submission check and for reviewers (mis M39)."""
    current = await matcher(runtime, session)
    return current.find("\n".join(texts))


async def invalidate(runtime: Runtime) -> None:
    """After the word list changed and committed: every process rebuilds on its next check."""
    global _built
    _built = False
    await runtime.store.incr(VERSION_KEY)
