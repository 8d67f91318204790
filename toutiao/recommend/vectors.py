"""TF-IDF vectors and candidate search through an inverted index of each term's strongest
articles. Pure computation, no I/O.

Similarity is the dot product of L2-normalised vectors (cosine) over each article's
``VECTOR_TERMS`` strongest terms. Candidates come from the postings of those terms, each
capped to the ``POSTING_CAP`` articles where the term weighs most, so the cost per article is
bounded (terms x cap) instead of growing with the corpus; a pair's score may miss a term
whose posting dropped one of them, which only lowers it.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

VECTOR_TERMS = 16
KEYWORDS = 5  # strongest terms: keyword recall and user interests
POSTING_CAP = 64
KEYWORD_CAP = 200  # most recent articles kept per keyword
SIMILAR_SIZE = 20  # per article; zsets up to 128 entries stay compact (listpack)
MIN_SIMILARITY = 0.05
MIN_DF = 2  # a term no other article has cannot make two articles similar
MAX_DF_SHARE = 0.5  # a term in most articles says nothing about any of them

Vector = list[tuple[str, float]]


def idf(df: int, docs: int) -> float:
    return math.log((docs + 1) / (df + 1)) + 1.0


def vectorize(counts: Iterable[tuple[str, int]], df: Mapping[str, int], docs: int) -> Vector:
    """The strongest ``VECTOR_TERMS`` terms, sublinear TF x IDF, L2-normalised, strongest first."""
    max_df = max(MIN_DF, int(docs * MAX_DF_SHARE))
    weighted = []
    for term, count in counts:
        freq = df.get(term, 0)
        if MIN_DF <= freq <= max_df:
            weighted.append((term, (1.0 + math.log(count)) * idf(freq, docs)))
    top = heapq.nlargest(VECTOR_TERMS, weighted, key=lambda tw: (tw[1], tw[0]))
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return [(term, w / norm) for term, w in top]


def keywords(vector: Vector) -> list[str]:
    return [term for term, _ in vector[:KEYWORDS]]


def best(scores: Mapping[int, float], exclude: int) -> list[tuple[int, float]]:
    found = ((aid, s) for aid, s in scores.items() if aid != exclude and s >= MIN_SIMILARITY)
    return heapq.nlargest(SIMILAR_SIZE, found, key=lambda pair: (pair[1], pair[0]))


Postings = Mapping[str, tuple[Sequence[int], Sequence[float]]]


def accumulate(vector: Vector, postings: Postings) -> dict[int, float]:
    scores: dict[int, float] = {}
    for term, weight in vector:
        ids, weights = postings.get(term, ((), ()))
        for other, other_weight in zip(ids, weights, strict=True):
            scores[other] = scores.get(other, 0.0) + weight * other_weight
    return scores


@dataclass
class Corpus:
    """Every approved article's vector, packed into flat arrays (bounded memory at 100k+)."""

    ids: array[int] = field(default_factory=lambda: array("q"))
    pubdates: array[float] = field(default_factory=lambda: array("d"))
    starts: array[int] = field(default_factory=lambda: array("L", [0]))
    term_ids: array[int] = field(default_factory=lambda: array("L"))
    weights: array[float] = field(default_factory=lambda: array("f"))
    owners: array[int] = field(default_factory=lambda: array("L"))  # entry -> article index
    words: list[str] = field(default_factory=list)
    _word_ids: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, article_id: int, pubdate: float, vector: Vector) -> None:
        owner = len(self.ids)
        self.ids.append(article_id)
        self.pubdates.append(pubdate)
        for term, weight in vector:
            word_id = self._word_ids.get(term)
            if word_id is None:
                word_id = self._word_ids[term] = len(self.words)
                self.words.append(term)
            self.term_ids.append(word_id)
            self.weights.append(weight)
            self.owners.append(owner)
        self.starts.append(len(self.term_ids))

    def vector(self, index: int) -> Vector:
        lo, hi = self.starts[index], self.starts[index + 1]
        return [(self.words[self.term_ids[i]], self.weights[i]) for i in range(lo, hi)]

    def _entries_by_word(self, per_article: int) -> dict[int, array[int]]:
        found: dict[int, array[int]] = {}
        for index in range(len(self.ids)):
            start = self.starts[index]
            for i in range(start, min(start + per_article, self.starts[index + 1])):
                entries = found.get(self.term_ids[i])
                if entries is None:
                    entries = found[self.term_ids[i]] = array("L")
                entries.append(i)
        return found

    def postings(self) -> dict[str, tuple[array[int], array[float]]]:
        """term -> the ``POSTING_CAP`` articles where it weighs most, with those weights."""
        result = {}
        for word_id, entries in self._entries_by_word(VECTOR_TERMS).items():
            top = heapq.nlargest(POSTING_CAP, entries, key=self.weights.__getitem__)
            result[self.words[word_id]] = (
                array("q", (self.ids[self.owners[i]] for i in top)),
                array("f", (self.weights[i] for i in top)),
            )
        return result

    def keyword_postings(self) -> Iterator[tuple[str, dict[str, float]]]:
        """keyword -> its ``KEYWORD_CAP`` most recent articles with their pubdates."""
        pubdate = self.pubdates.__getitem__
        for word_id, entries in self._entries_by_word(KEYWORDS).items():
            top = heapq.nlargest(KEYWORD_CAP, entries, key=lambda i: pubdate(self.owners[i]))
            yield (
                self.words[word_id],
                {str(self.ids[self.owners[i]]): pubdate(self.owners[i]) for i in top},
            )

    def similar_all(self) -> Iterator[tuple[int, list[tuple[int, float]]]]:
        postings = self.postings()
        for index, article_id in enumerate(self.ids):
            yield article_id, best(accumulate(self.vector(index), postings), article_id)
