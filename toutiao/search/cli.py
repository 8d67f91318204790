"""``toutiao search reindex``: index every approved article again, with a progress bar.

Wire it in ``toutiao/cli.py``::

    @search_app.command("reindex")
    def search_reindex(batch: int = 500, resume: bool = False, data_dir: DataDir = None) -> None:
        reindex_command(_settings(data_dir), batch=batch, resume=resume)
"""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from toutiao.config import Settings


def reindex_command(settings: Settings, *, batch: int, resume: bool) -> None:
    """Run a (resumable) full reindex against the engine ``settings`` names."""
    console = Console(stderr=True)

    async def main() -> None:
        from toutiao.engines.search import create_search_engine
        from toutiao.runtime import build_runtime
        from toutiao.search.indexer import reindex

        runtime = build_runtime(settings, name="search-reindex")
        if runtime.search is None:
            runtime.search = create_search_engine(settings)
        await runtime.start()
        columns = (
            TextColumn("indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        try:
            with Progress(*columns, console=console) as bar:
                task = bar.add_task("articles", total=None)

                def advance(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                report = await reindex(runtime, batch=batch, resume=resume, progress=advance)
        finally:
            await runtime.close()
        resumed = f", resumed after id {report.resumed_from}" if report.resumed_from else ""
        console.print(
            f"search index rebuilt: {report.indexed} articles in {report.elapsed:.1f} s "
            f"({report.per_second:.0f}/s{resumed})"
        )

    asyncio.run(main())
