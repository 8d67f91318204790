"""``toutiao reco rebuild``: the similar-articles index from scratch, with a progress bar.

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
        console.print(
            f"similar-articles index rebuilt: {report.articles} articles in {report.seconds:.1f} s"
        )

    asyncio.run(main())
