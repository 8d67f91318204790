"""The review queue's and article filters' SQL (mis M37) on the bench database, old form
against new, alternating, one call at a time: what the list costs the database and the
driver, apart from HTTP, the staff checks and the other processes of a shared machine.

    TOUTIAO_DATABASE_URL=mysql+asyncmy://root@127.0.0.1:3306/toutiao_bench_mis \\
        .venv/bin/python bench/mis_sql.py [--repeat 3] [--without-index]

- new: ``toutiao.content.repository.staff_articles`` (ids from the indexes, then the page's
  rows joined, the total in the same statement);
- old: the form before (a count, then the joined rows sorted, offset and limited).

``--without-index`` makes both ignore ``ix_news_article_basic_create_time`` (as before
migration 0003). Targets: bench/mis.py's review queue (pages 1-50) and its 300 filter
queries. Prints the median and p95 milliseconds per call and the statements per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from load import emit
from mis import articles_path, filter_targets
from sqlalchemy import func, select, text

from toutiao.config import Settings
from toutiao.content import repository
from toutiao.content.repository import StaffArticleFilter, StaffArticleRow
from toutiao.kit.db import Database, count_queries
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus

PER_PAGE = 20


def parse(path: str) -> tuple[StaffArticleFilter, int]:
    q = dict(parse_qsl(urlsplit(path).query))

    def day(value: str | None, end: bool) -> datetime | None:
        if value is None:
            return None
        return datetime.fromisoformat(value + (" 23:59:59" if end else " 00:00:00"))

    statuses = q.get("status_list")
    where = StaffArticleFilter(
        title=q.get("title"),
        channel=q.get("channel"),
        statuses=tuple(ArticleStatus(int(s)) for s in statuses.split(",")) if statuses else None,
        begin=day(q.get("begin"), False),
        end=day(q.get("end"), True),
        user_id=int(q["user_id"]) if "user_id" in q else None,
        order_by=q.get("order_by"),
    )
    return where, (int(q.get("page", 1)) - 1) * PER_PAGE


async def old_form(session: Any, where: StaffArticleFilter, offset: int) -> Any:
    conditions = repository._staff_where(where)
    total = await session.scalar(select(func.count()).select_from(Article).where(*conditions))
    rows = await session.execute(
        repository._staff_rows()
        .where(*conditions)
        .order_by(*repository._STAFF_ORDERS[where.order_by])
        .offset(offset)
        .limit(PER_PAGE)
    )
    return [StaffArticleRow(*row) for row in rows], int(total or 0)


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--without-index", action="store_true")
    p.add_argument("--authors", help="file of author ids (bench/mis.sh writes one)")
    args = p.parse_args()
    settings = Settings()
    db = Database.from_urls(settings.database_url)
    async with db.read_session() as session:
        channels = list(await session.scalars(text("SELECT channel_name FROM news_channel")))
        titles = list(
            await session.scalars(
                text("SELECT title FROM news_article_basic WHERE article_id % 97 = 0 LIMIT 500")
            )
        )
        authors = [
            str(a)
            for a in await session.scalars(
                text("SELECT DISTINCT user_id FROM news_article_basic LIMIT 50")
            )
        ]
    groups = {
        "review_queue": [
            articles_path(status_list="1", order_by="create_time", page=page)
            for page in range(1, 51)
        ],
        "article_filters": filter_targets(channels, titles, authors, 7),
    }
    if args.without_index:
        async with db.session() as session:
            await session.execute(
                text(
                    "ALTER TABLE news_article_basic ALTER INDEX ix_news_article_basic_create_time IGNORED"
                )
            )
    try:
        for name, paths in groups.items():
            timings: dict[str, list[float]] = {"old": [], "new": []}
            statements: dict[str, int] = {"old": 0, "new": 0}
            for _ in range(args.repeat):
                for path in paths:
                    where, offset = parse(path)
                    results = {}
                    for form in ("old", "new"):
                        async with db.read_session() as session:
                            with count_queries(db.engines()) as found:
                                t0 = time.perf_counter()
                                if form == "old":
                                    results[form] = await old_form(session, where, offset)
                                else:
                                    results[form] = await repository.staff_articles(
                                        session, where, offset=offset, limit=PER_PAGE
                                    )
                                timings[form].append(1000 * (time.perf_counter() - t0))
                            statements[form] += len(found.statements)
                    old_rows, old_total = results["old"]
                    new_rows, new_total = results["new"]
                    assert old_total == new_total, path
                    assert [r.article.article_id for r in old_rows] == [
                        r.article.article_id for r in new_rows
                    ], path
            calls = len(paths) * args.repeat
            for form in ("old", "new"):
                ms = sorted(timings[form])
                emit(
                    f"{name:<16} {form}: median {statistics.median(ms):7.1f} ms, "
                    f"p95 {ms[int(0.95 * (len(ms) - 1))]:7.1f} ms, "
                    f"{statements[form] / calls:.1f} statements/call ({calls} calls)"
                )
    finally:
        if args.without_index:
            async with db.session() as session:
                await session.execute(
                    text(
                        "ALTER TABLE news_article_basic ALTER INDEX ix_news_article_basic_create_time NOT IGNORED"
                    )
                )
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
