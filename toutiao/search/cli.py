"""``toutiao search reindex``: index every approved article again, with a progress bar;
``toutiao search evaluate``: MRR@10 and recall@10 on queries judged from the corpus.

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


def evaluate_command(settings: Settings, *, per_kind: int, seed: int) -> int:
    """Judge queries from the approved titles, run them on the index, print the table; the
    exit status is 1 when there was nothing to evaluate."""
    console = Console()

    async def main() -> int:
        from rich.table import Table

        from toutiao.engines.search import create_search_engine
        from toutiao.runtime import build_runtime
        from toutiao.search.evaluate import MAX_RELEVANT, K, evaluate, judged_queries
        from toutiao.search.indexer import approved_titles

        runtime = build_runtime(settings, name="search-evaluate")
        if runtime.search is None:
            runtime.search = create_search_engine(settings)
        await runtime.start()
        try:
            async with runtime.db.read_session() as session:
                titles = await approved_titles(session)
            judged = judged_queries(titles, per_kind=per_kind, seed=seed)
            if not judged:
                console.print("no approved articles to judge queries from")
                return 1
            report = await evaluate(runtime.search, judged)
        finally:
            await runtime.close()
        table = Table(
            title=f"search relevance: {len(titles)} articles, {len(judged)} judged queries "
            f"(each names the 1-{MAX_RELEVANT} titles holding it), engine {runtime.search.name}"
        )
        for column in ("kind", "queries", f"MRR@{K}", f"recall@{K}", "missed, e.g."):
            table.add_column(
                column, justify="left" if column in {"kind", "missed, e.g."} else "right"
            )
        for row in report.rows:
            table.add_row(
                row.kind,
                str(row.queries),
                f"{row.mrr:.3f}",
                f"{row.recall:.3f}",
                " / ".join(row.misses[:3]),
            )
        console.print(table)
        return 0

    return asyncio.run(main())
