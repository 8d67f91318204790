"""``toutiao reco rebuild``: the similar-articles index from scratch, with a progress bar;
``toutiao reco evaluate``: the recommender against baselines on the behaviour log;
``toutiao reco migrate-keys``: readers' keys to their hash-tagged names (``rekey.py``).

Content changes reach the index as they happen and the index survives restarts in the
storage Redis, so this is for after bulk loads (a demo seed, an import) or a change of the
vector settings. It reads the articles in batches (tokenised in worker processes) and
overwrites the index keys in place: the services keep answering from the old lists until
each is replaced.
"""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from toutiao.config import Settings

STAGES = {"read": "reading and tokenising", "compare": "comparing and writing"}


def rebuild_command(settings: Settings, *, workers: int | None) -> None:
    console = Console(stderr=True)

    async def main() -> None:
        from toutiao.kit import text
        from toutiao.recommend.similar import rebuild_similarity
        from toutiao.runtime import build_runtime

        text.configure(settings.data_dir / "jieba")
        runtime = build_runtime(settings, name="reco-rebuild")
        await runtime.start()
        columns = (
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        try:
            with Progress(*columns, console=console) as bar:
                tasks: dict[str, TaskID] = {}

                def advance(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
                    bar.update(tasks[stage], completed=done, total=total)

                report = await rebuild_similarity(
                    runtime.db,
                    runtime.store,
                    workers=workers,
                    cache_dir=str(settings.data_dir / "jieba"),
                    progress=advance,
                )
        finally:
            await runtime.close()
        if report.mode == "busy":
            console.print(
                "another full build of the similar-articles index is running; not started"
            )
            raise SystemExit(1)
        console.print(
            f"similar-articles index rebuilt: {report.articles} articles in {report.seconds:.1f} s"
        )

    asyncio.run(main())


def evaluate_command(settings: Settings) -> int:
    """Print the offline evaluation table; the exit status is 1 when no reader had enough
    history to hold any of it out."""
    console = Console()

    async def main() -> int:
        from rich.table import Table

        from toutiao.recommend.evaluate import HOLDOUT, MAX_HOLDOUT, K, evaluate, load
        from toutiao.runtime import build_runtime

        runtime = build_runtime(settings, name="reco-evaluate")
        try:
            async with runtime.db.read_session() as session:
                items, events = await load(session)
        finally:
            await runtime.close()
        report = await asyncio.to_thread(evaluate, items, events)
        readers = report.row("recommender").readers
        if not readers:
            console.print("no reader has enough likes and collections to evaluate")
            return 1
        table = Table(
            title=f"recommender, offline: {report.catalogue} articles, {report.events} likes and "
            f"collections, {readers} readers, their latest {HOLDOUT:.0%} (up to {MAX_HOLDOUT}, "
            f"{report.held_out} in all) held out"
        )
        for column in ("ranker", f"recall@{K}", f"NDCG@{K}", "coverage", "recommender is"):
            table.add_column(column, justify="left" if column == "ranker" else "right")
        for row in report.rows:
            margin = ""
            if row.name != "recommender":
                margin = (
                    f"x{report.margin(row.name):.1f} recall, "
                    f"x{report.margin(row.name, 'ndcg'):.1f} NDCG"
                )
            table.add_row(
                row.name, f"{row.recall:.3f}", f"{row.ndcg:.3f}", f"{row.coverage:.3f}", margin
            )
        console.print(table)
        return 0

    return asyncio.run(main())


def migrate_keys_command(settings: Settings) -> int:
    """Move readers' keys to their tagged names (``rekey.py``); the exit status is 1 when
    another process holds the migration's lock."""
    console = Console(stderr=True)

    async def main() -> int:
        from toutiao.recommend.rekey import Report, run_locked
        from toutiao.runtime import build_runtime

        runtime = build_runtime(settings, name="reco-migrate-keys")
        await runtime.start()
        try:
            with Progress(TextColumn("{task.description}"), console=console) as bar:
                task = bar.add_task("reader keys: 0 handled")

                def advance(report: Report) -> None:
                    bar.update(task, description=f"reader keys: {report.done} handled")

                report = await run_locked(runtime.store, progress=advance)
        finally:
            await runtime.close()
        if report is None:
            console.print("another process is migrating the reader keys; not started")
            return 1
        console.print(
            f"reader keys: {report.moved} moved, {report.merged} merged into newer ones, "
            f"{report.kept} newer kept, {report.dropped} caches dropped, "
            f"{report.gone} expired meanwhile, {report.unknown} unknown left alone"
        )
        return 0

    return asyncio.run(main())
