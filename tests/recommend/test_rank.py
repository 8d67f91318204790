"""The ranking's greedy pick, checked against its definition written out plainly."""

from __future__ import annotations

import random

import pytest

from toutiao.recommend import rank
from toutiao.recommend.profile import Profile
from toutiao.recommend.recall import Candidate

NOW = 1_790_000_000.0


def plain_pick(
    cands: list[Candidate], n: int, profile: Profile, *, mixed_channels: bool
) -> list[int]:
    """Each turn: score every candidate left after the penalties so far; the best wins, ties to
    the higher base score, then the higher id."""
    base = rank.scores(cands, profile, NOW)
    left = list(cands)
    authors: dict[int, int] = {}
    channels: dict[int, int] = {}
    chosen: list[int] = []
    while left and len(chosen) < n:

        def key(cand: Candidate) -> tuple[float, float, int]:
            value = base[cand.article_id] - rank.AUTHOR_PENALTY * authors.get(cand.author_id, 0)
            if mixed_channels:
                value -= rank.CHANNEL_PENALTY * channels.get(cand.channel_id, 0)
            return (value, base[cand.article_id], cand.article_id)

        best = max(left, key=key)
        left.remove(best)
        chosen.append(best.article_id)
        authors[best.author_id] = authors.get(best.author_id, 0) + 1
        channels[best.channel_id] = channels.get(best.channel_id, 0) + 1
    return chosen


def candidates(rng: random.Random, size: int, authors: int, channels: int) -> list[Candidate]:
    ids = rng.sample(range(1, 1_000_000), size)
    out = []
    for aid in ids:
        cand = Candidate(aid, {rng.choice(sorted(rank.SOURCE_WEIGHTS))})
        cand.author_id = rng.randint(1, authors)
        cand.channel_id = rng.randint(1, channels)
        # equal ages and popularity on purpose: many exact ties
        cand.published = NOW - rng.choice([0.0, 3600.0, 86400.0])
        cand.popularity = rng.choice([0.0, 1.0, 2.0])
        cand.keywords = tuple(rng.sample(["a", "b", "c", "d"], rng.randint(0, 2)))
        out.append(cand)
    return out


@pytest.mark.parametrize("mixed_channels", [False, True])
@pytest.mark.parametrize(("size", "n", "authors"), [(0, 10, 3), (30, 10, 2), (120, 80, 10)])
def test_pick_is_the_plain_greedy(size: int, n: int, authors: int, mixed_channels: bool) -> None:
    rng = random.Random(size * 7 + n)
    profile = Profile(keywords={"a": 1.0, "b": -0.5, "c": 0.25})
    for _ in range(20):
        cands = candidates(rng, size, authors, channels=4)
        picked = rank.pick(cands, n, profile, NOW, mixed_channels=mixed_channels)
        want = plain_pick(cands, n, profile, mixed_channels=mixed_channels)
        assert [c.article_id for c in picked] == want
        assert len(want) == min(n, size)


def test_one_author_gives_way_after_a_pick() -> None:
    first, second, other = Candidate(3, {"hot"}), Candidate(2, {"hot"}), Candidate(1, {"recent"})
    for cand in (first, second):
        cand.author_id, cand.published = 7, NOW
    other.author_id, other.published = 8, NOW
    picked = rank.pick([first, second, other], 3, Profile(), NOW, mixed_channels=False)
    # hot outweighs recent by 0.3, less than the 0.4 the author's second article loses
    assert [c.article_id for c in picked] == [3, 1, 2]
