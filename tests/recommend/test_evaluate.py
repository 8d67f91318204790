"""Offline evaluation of the recommender: the hold-out, the scores, and the margin over the
baselines on the demo's behaviour log (readers there have consistent tastes)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from toutiao.config import Settings
from toutiao.kit.migrate import upgrade
from toutiao.recommend import evaluate as ev
from toutiao.recommend.cli import evaluate_command
from toutiao.runtime import build_runtime
from toutiao.seed.demo import seed_demo

# The recommender's recall@10 and NDCG@10 must be at least this many times each baseline's
# (measured on this demo: x2.1-x3.4 over recency, x9-x15 over popularity).
MARGIN = 1.5


def events(user: int, articles: list[int], start: float = 0.0) -> list[ev.Event]:
    return [ev.Event(user, a, "like", start + n) for n, a in enumerate(articles)]


def test_each_reader_keeps_the_latest_back() -> None:
    log = events(1, list(range(100, 120))) + events(2, [1, 2, 3])  # 2: too little history
    train, hidden = ev.split(log)
    assert hidden == {1: {116, 117, 118, 119}}  # the latest 20 %
    assert {e.article_id for e in train if e.user_id == 1} == set(range(100, 116))
    assert [e.article_id for e in train if e.user_id == 2] == [1, 2, 3]
    long = events(3, list(range(1000, 1100)))
    assert len(ev.split(long)[1][3]) == ev.MAX_HOLDOUT


def test_ndcg() -> None:
    assert ev._ndcg([5, 6, 7], {5}) == 1.0
    assert ev._ndcg([6, 5], {5}) == pytest.approx(1 / math.log2(3))
    assert ev._ndcg([6, 7], {5}) == 0.0


def test_the_recommender_beats_both_baselines_on_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(ENV="testing", DATA_DIR=tmp_path)

    async def prepare() -> ev.Report:
        await upgrade(settings.database_url)
        runtime = build_runtime(settings, name="test-reco-evaluate")
        try:
            await seed_demo(
                runtime.db,
                runtime.storage,
                runtime.ids,
                users=40,
                articles=1200,
                progress=False,
                cover_images=0,
            )
            async with runtime.db.read_session() as session:
                items, log = await ev.load(session)
        finally:
            await runtime.close()
        return ev.evaluate(items, log)

    report = asyncio.run(prepare())
    reco = report.row("recommender")
    assert reco.readers >= 30 and report.held_out >= 100
    for baseline in ("popularity", "recency"):
        assert report.margin(baseline) >= MARGIN, report
        assert report.margin(baseline, "ndcg") >= MARGIN, report
    assert reco.coverage > report.row("popularity").coverage
    assert evaluate_command(settings) == 0
    table = capsys.readouterr().out
    for word in ("recall@10", "NDCG@10", "coverage", "recommender", "popularity", "recency"):
        assert word in table
