"""Search relevance, measured: queries judged from the corpus itself, scored by MRR@10 and
recall@10 (``toutiao search evaluate``).

Each judged query is made from one article's title and names every article it should find:

- **fragment**: two to four neighbouring words of a title, as typed (``大模型推理优化``);
- **pair**: two words of a title that are not neighbours, with a space (``缓存 实战``);
- **typo**: a fragment with one character dropped or two neighbours swapped.

A query is kept only when it is distinctive (at most ``MAX_RELEVANT`` titles hold it: those
are its relevant articles), so a low score means the engine ranked it badly, not that the
query was hopeless. The sample is seeded: the same corpus gives the same queries.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from toutiao.engines.search import SearchEngine, normalize, title_key
from toutiao.kit import text as jieba_text
from toutiao.search.service import find

K = 10
MAX_RELEVANT = 3
KINDS = ("fragment", "pair", "typo")
_ATTEMPTS = 20  # titles tried per query wanted, at most


@dataclass(frozen=True, slots=True)
class Judged:
    kind: str
    query: str
    relevant: frozenset[int]


@dataclass(slots=True)
class Score:
    kind: str
    queries: int = 0
    reciprocal_ranks: float = 0.0
    recalled: float = 0.0
    misses: list[str] = field(default_factory=list)

    @property
    def mrr(self) -> float:
        return self.reciprocal_ranks / self.queries if self.queries else 0.0

    @property
    def recall(self) -> float:
        return self.recalled / self.queries if self.queries else 0.0


@dataclass(frozen=True, slots=True)
class Report:
    rows: list[Score]  # one per kind, then "all"

    def row(self, kind: str) -> Score:
        return next(r for r in self.rows if r.kind == kind)


class _Titles:
    """Folded titles, to find which articles hold a text."""

    def __init__(self, titles: Sequence[tuple[int, str]]) -> None:
        self.keys = [(article_id, title_key(title)) for article_id, title in titles]

    def holding(self, *parts: str) -> frozenset[int]:
        folded = [title_key(p) for p in parts]
        found = []
        for article_id, key in self.keys:
            if all(p in key for p in folded):
                found.append(article_id)
                if len(found) > MAX_RELEVANT:
                    break
        return frozenset(found)


def _words(title: str) -> list[str]:
    return [w for w in jieba_text.segmenter().cut(normalize(title), HMM=False) if w.strip()]


def _fragment(rng: random.Random, words: list[str]) -> str | None:
    size = rng.randint(2, 4)
    if len(words) < size:
        return None
    start = rng.randrange(len(words) - size + 1)
    fragment = "".join(words[start : start + size]).strip()
    return fragment if 4 <= len(fragment) <= 16 else None


def _pair(rng: random.Random, words: list[str]) -> tuple[str, str] | None:
    content = [(i, w) for i, w in enumerate(words) if len(w) >= 2 and w.isalnum()]
    pairs = [(a, b) for a in content for b in content if b[0] - a[0] >= 2]
    if not pairs:
        return None
    (_, a), (_, b) = rng.choice(pairs)
    return a, b


def _typo(rng: random.Random, fragment: str) -> str:
    chars = list(fragment)
    i = rng.randrange(1, len(chars) - 1)
    if rng.random() < 0.5:
        del chars[i]
    else:
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def judged_queries(
    titles: Sequence[tuple[int, str]], *, per_kind: int, seed: int = 20260101
) -> list[Judged]:
    """Up to ``per_kind`` judged queries of each kind from ``(article_id, title)`` pairs."""
    rng = random.Random(seed)
    index = _Titles(titles)
    made: dict[str, list[Judged]] = {kind: [] for kind in KINDS}
    for _ in range(per_kind * _ATTEMPTS):
        if all(len(v) >= per_kind for v in made.values()) or not titles:
            break
        _, title = rng.choice(titles)
        words = _words(title)
        fragment = _fragment(rng, words)
        if fragment:
            relevant = index.holding(fragment)
            if 1 <= len(relevant) <= MAX_RELEVANT:
                if len(made["fragment"]) < per_kind:
                    made["fragment"].append(Judged("fragment", fragment, relevant))
                typo = _typo(rng, fragment)
                if len(made["typo"]) < per_kind and not index.holding(typo):
                    made["typo"].append(Judged("typo", typo, relevant))
        pair = _pair(rng, words)
        if pair and len(made["pair"]) < per_kind:
            relevant = index.holding(*pair)
            if 1 <= len(relevant) <= MAX_RELEVANT:
                made["pair"].append(Judged("pair", " ".join(pair), relevant))
    return [judged for kind in KINDS for judged in made[kind]]


async def evaluate(
    engine: SearchEngine,
    judged: Sequence[Judged],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """MRR@10 and recall@10 of ``engine`` on ``judged`` (through the search service's
    :func:`~toutiao.search.service.find`, as readers search), by kind and overall."""
    rows = {kind: Score(kind) for kind in (*KINDS, "all")}
    for done, item in enumerate(judged, 1):
        page = await find(engine, item.query, offset=0, limit=K)
        top = page.ids[:K]
        rank = next((n for n, i in enumerate(top, 1) if i in item.relevant), None)
        recalled = len(item.relevant.intersection(top)) / len(item.relevant)
        for row in (rows[item.kind], rows["all"]):
            row.queries += 1
            row.reciprocal_ranks += 1 / rank if rank else 0.0
            row.recalled += recalled
            if rank is None and len(row.misses) < 5:
                row.misses.append(item.query)
        if progress is not None:
            progress(done, len(judged))
    return Report([rows[kind] for kind in (*KINDS, "all") if rows[kind].queries])
