"""Who reacts to a demo article: readers with long-tailed appetites.

Each reader gets a rank (a random permutation) and an appetite, the number of articles they
react to over the whole catalogue: ``LIGHTEST * (readers / rank) ** TAIL``, at most
``MAX_SHARE`` of the approved articles. Half the readers react to a few dozen articles at
most; with 200 readers the first reacts to about 42,000 and the first 1 % to tens of
thousands (capped by the catalogue), as on a real site, where a handful of loyal readers
like and collect for years. The total is bounded by the readers, not the catalogue:
a million articles do not make every reader a heavy one.

An article draws its readers in proportion to the appetites (and its own popularity), so a
reader's expected reactions are their appetite whatever the catalogue's size.
"""

from __future__ import annotations

import random
from itertools import accumulate

LIGHTEST = 15  # the appetite of the last reader; the median reader's is 2.8 times that
TAIL = 1.5  # of 200 readers: rank 1 ~42,000, rank 10 ~1,340, rank 100 ~42
MAX_SHARE = 0.6  # nobody reacts to more than this share of the approved articles
MEAN_POPULARITY = 0.25  # E[u ** 3] for u uniform on [0, 1): see ArticleFactory


class Readers:
    def __init__(self, rng: random.Random, user_ids: list[int], approved: int) -> None:
        ranks = list(range(1, len(user_ids) + 1))
        rng.shuffle(ranks)
        cap = max(1.0, approved * MAX_SHARE)
        self.user_ids = user_ids
        self.appetite = {
            uid: min(cap, LIGHTEST * (len(user_ids) / rank) ** TAIL)
            for uid, rank in zip(user_ids, ranks, strict=True)
        }
        weights = [self.appetite[uid] for uid in user_ids]
        self._cum = list(accumulate(weights))
        # Readers per article at average popularity, so appetites add up over the catalogue.
        self._per_article = sum(weights) / max(approved, 1)

    def pick(self, rng: random.Random, popularity: float, share: float, exclude: int) -> list[int]:
        """Distinct readers of one article (never its author): about ``share`` of the
        appetite-weighted draws an article of this ``popularity`` gets."""
        expected = self._per_article * share * popularity / MEAN_POPULARITY
        count = int(expected + rng.random())
        if not count:
            return []
        drawn = rng.choices(self.user_ids, cum_weights=self._cum, k=count)
        return [uid for uid in dict.fromkeys(drawn) if uid != exclude]
