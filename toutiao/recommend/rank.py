"""Ranking: a transparent linear score, then a greedy pick that penalises repetition.

score = sum of the weights of the sources that recalled the article
      + W_POPULARITY x popularity (normalised to [0, 1] over the candidates)
      + W_FRESHNESS x 0.5 ** (age / FRESH_HALF_LIFE)
      + W_CHANNEL x the user's share of interest in the article's channel
      + W_KEYWORD x how much of the user's keyword interest the article carries

Each pick lowers the remaining candidates of the same author (and, on the recommended
channel, of the same channel), so one prolific author or topic cannot fill a batch.
"""

from __future__ import annotations

import heapq

from toutiao.recommend.profile import Profile
from toutiao.recommend.recall import Candidate

SOURCE_WEIGHTS = {"recent": 0.5, "hot": 0.8, "interest": 0.6, "keyword": 0.9, "similar": 1.2}
W_POPULARITY = 1.0
W_FRESHNESS = 1.2
FRESH_HALF_LIFE = 48 * 3600.0
W_CHANNEL = 3.0
W_KEYWORD = 0.8
AUTHOR_PENALTY = 0.4
CHANNEL_PENALTY = 0.15


def _keyword_affinity(cand: Candidate, positive: dict[str, float], norm: float) -> float:
    """``positive``: the user's keywords of positive weight."""
    if not norm:
        return 0.0
    return min(sum(positive.get(w, 0.0) for w in cand.keywords) / norm, 1.0)


def _cheap(cand: Candidate, profile: Profile, now: float) -> float:
    return (
        sum(SOURCE_WEIGHTS.get(source, 0.0) for source in cand.sources)
        + W_FRESHNESS * 0.5 ** (max(now - cand.published, 0.0) / FRESH_HALF_LIFE)
        + W_CHANNEL * profile.channel_share(cand.channel_id)
    )


def shortlist(cands: list[Candidate], n: int, profile: Profile, now: float) -> list[Candidate]:
    """The ``n`` best by the terms that need no more reads (before fetching popularity)."""
    if len(cands) <= n:
        return cands
    return heapq.nlargest(n, cands, key=lambda c: (_cheap(c, profile, now), c.article_id))


def scores(cands: list[Candidate], profile: Profile, now: float) -> dict[int, float]:
    top_pop = max((c.popularity for c in cands), default=0.0) or 1.0
    positive = {word: weight for word, weight in profile.keywords.items() if weight > 0}
    norm = sum(sorted(positive.values(), reverse=True)[:5])
    result = {}
    for cand in cands:
        result[cand.article_id] = (
            _cheap(cand, profile, now)
            + W_POPULARITY * cand.popularity / top_pop
            + W_KEYWORD * _keyword_affinity(cand, positive, norm)
        )
    return result


def pick(
    cands: list[Candidate], n: int, profile: Profile, now: float, *, mixed_channels: bool
) -> list[Candidate]:
    """The greedy pick: each turn the best score after the repetition penalties so far, ties to
    the higher base score, then the newer id. Penalties only lower a score, so a stale score
    is an upper bound: the best is found by re-scoring from the top of a heap until the one
    on top is current (lazy greedy), not by scanning every candidate each turn."""
    base = scores(cands, profile, now)
    # plain dicts: a Counter's default for a missing key is a Python call, once per re-score
    authors: dict[int, int] = {}
    channels: dict[int, int] = {}
    heap = []
    for i, cand in enumerate(cands):
        score = base[cand.article_id]
        heap.append((-score, -score, -cand.article_id, i))
    heapq.heapify(heap)
    chosen: list[Candidate] = []
    while heap and len(chosen) < n:
        stale, neg_base, neg_id, index = heap[0]
        cand = cands[index]
        current = -neg_base - AUTHOR_PENALTY * authors.get(cand.author_id, 0)
        if mixed_channels:
            current -= CHANNEL_PENALTY * channels.get(cand.channel_id, 0)
        if -current != stale:
            heapq.heapreplace(heap, (-current, neg_base, neg_id, index))
            continue
        heapq.heappop(heap)
        chosen.append(cand)
        authors[cand.author_id] = authors.get(cand.author_id, 0) + 1
        channels[cand.channel_id] = channels.get(cand.channel_id, 0) + 1
    return chosen
