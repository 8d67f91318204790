"""The sensitive-word matcher: one automaton, case-insensitive, rebuilt when the list changes."""

from __future__ import annotations

from sqlalchemy import delete

from toutiao.content import sensitive
from toutiao.content.sensitive import Findings, Matcher, build
from toutiao.models import SensitiveWord


def test_finds_every_word_once_with_overlaps():
    matcher = Matcher("1", build([("he", 1), ("she", 2), ("hers", 4), ("赌博", 5), ("Poker", 3)]))
    found = matcher.find("Ushers play POKER, poker and 赌博")
    assert found == Findings(["Poker", "he", "hers", "she", "赌博"], 15)
    assert found.holds(15) and not found.holds(16)
    assert matcher.find("no match at all") == Findings()


def test_no_words():
    assert Matcher("0", build([])).find("anything") == Findings()
    assert not Findings().holds(0)


async def test_rebuilt_after_invalidate(runtime):
    async with runtime.db.session() as session:
        session.add(SensitiveWord(word="casino", weights=10))
        await session.commit()
    await sensitive.invalidate(runtime)
    async with runtime.db.session() as session:
        assert (await sensitive.find(runtime, session, "Casino Royale")).words == ["casino"]
        await session.execute(delete(SensitiveWord))
        session.add(SensitiveWord(word="royale", weights=1))
        await session.commit()
    async with runtime.db.session() as session:  # not invalidated yet: the old automaton
        assert (await sensitive.find(runtime, session, "Casino Royale")).words == ["casino"]
    await sensitive.invalidate(runtime)
    async with runtime.db.session() as session:
        assert (await sensitive.find(runtime, session, "Casino Royale")).words == ["royale"]
