"""``toutiao search reindex`` end to end, in its own data directory (own engines, own loop)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from toutiao.config import Settings
from toutiao.engines.search.tantivy_engine import TantivySearch
from toutiao.kit.migrate import upgrade
from toutiao.runtime import build_runtime
from toutiao.search.cli import evaluate_command, reindex_command
from toutiao.seed.demo import seed_demo


def test_reindex_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(ENV="testing", DATA_DIR=tmp_path)

    async def prepare() -> None:
        await upgrade(settings.database_url)
        runtime = build_runtime(settings, name="test-cli")
        try:
            await seed_demo(
                runtime.db,
                runtime.storage,
                runtime.ids,
                users=4,
                articles=30,
                progress=False,
                cover_images=0,
            )
        finally:
            await runtime.close()

    async def indexed() -> int:
        engine = TantivySearch(tmp_path / "search")
        try:
            return await engine.count()
        finally:
            await engine.close()

    asyncio.run(prepare())
    reindex_command(settings, batch=10, resume=False)
    assert "search index rebuilt:" in capsys.readouterr().err
    assert 20 < asyncio.run(indexed()) <= 30
    assert evaluate_command(settings, per_kind=5, seed=1) == 0
    table = capsys.readouterr().out
    assert "MRR@10" in table and "recall@10" in table
    for kind in ("fragment", "pair", "typo", "all"):
        assert f" {kind} " in table
