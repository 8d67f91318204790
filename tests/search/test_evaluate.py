"""Relevance measured on a demo-like corpus: the judged queries and the floor they hold."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.search.helpers import corpus
from toutiao.engines.search import title_key
from toutiao.engines.search.tantivy_engine import TantivySearch
from toutiao.search.evaluate import KINDS, MAX_RELEVANT, Judged, evaluate, judged_queries

SIZE = 600
# What the ranking holds on this corpus (measured: fragments 0.98 / 1.0, pairs 1.0 / 1.0,
# typos 0.75 / 0.90 as MRR / recall); a change that ranks worse fails here.
FLOOR = {"fragment": (0.9, 0.95), "pair": (0.9, 0.95), "typo": (0.6, 0.8), "all": (0.85, 0.9)}


def titles() -> list[tuple[int, str]]:
    return [(d.article_id, d.title) for d in corpus(SIZE)]


@pytest.fixture(scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TantivySearch]:
    search = TantivySearch(tmp_path_factory.mktemp("evaluate"))
    docs = corpus(SIZE)
    for start in range(0, SIZE, 200):
        await search.index(docs[start : start + 200])
    yield search
    await search.close()


def test_queries_are_judged_by_the_titles_holding_them() -> None:
    pairs = titles()
    judged = judged_queries(pairs, per_kind=30)
    assert judged == judged_queries(pairs, per_kind=30)  # seeded
    assert {kind: sum(j.kind == kind for j in judged) for kind in KINDS} == dict.fromkeys(KINDS, 30)
    keys = dict(pairs)
    for item in judged:
        assert 1 <= len(item.relevant) <= MAX_RELEVANT
        holders = {
            i for i, t in pairs if all(title_key(p) in title_key(t) for p in item.query.split(" "))
        }
        if item.kind == "typo":
            assert not holders  # a typo is in no title; it names the fragment's articles
        else:
            assert holders == item.relevant, item
            assert all(len(w) >= 2 for w in item.query.split(" ")), item
        assert all(i in keys for i in item.relevant)


async def test_the_ranking_holds_its_floor(engine: TantivySearch) -> None:
    report = await evaluate(engine, judged_queries(titles(), per_kind=40))
    for row in report.rows:
        mrr, recall = FLOOR[row.kind]
        assert row.mrr >= mrr and row.recall >= recall, (row.kind, row.mrr, row.recall)


async def test_scores_count_ranks_within_ten(engine: TantivySearch) -> None:
    article_id, title = next((i, t) for i, t in titles() if len(title_key(t)) > 12)
    exact = Judged("fragment", title, frozenset({article_id}))
    nowhere = Judged("pair", "量子 火星殖民", frozenset({article_id}))
    report = await evaluate(engine, [exact, nowhere])
    assert (report.row("fragment").mrr, report.row("fragment").recall) == (1.0, 1.0)
    assert (report.row("pair").mrr, report.row("pair").recall) == (0.0, 0.0)
    assert report.row("all").mrr == 0.5 and report.row("pair").misses == [nowhere.query]
