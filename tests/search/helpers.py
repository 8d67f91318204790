"""A deterministic corpus for relevance tests, written with the demo data's text generator."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from toutiao.engines.search import SearchDoc
from toutiao.engines.search.tantivy_engine import TantivySearch
from toutiao.kit.text import plain_text
from toutiao.runtime import Runtime
from toutiao.seed import text
from toutiao.seed.words import TOPICS

BASE = datetime(2026, 1, 1, 12, 0, 0)


def doc(
    article_id: int,
    title: str,
    content: str = "",
    *,
    pubdate: datetime = BASE,
    author: str = "作者",
    channel: str = "科技",
) -> SearchDoc:
    return SearchDoc(
        article_id=article_id,
        title=title,
        content=content,
        author_id=1,
        author_name=author,
        channel_id=1,
        channel_name=channel,
        pubdate=pubdate,
    )


def corpus(size: int, *, seed: int = 20260101, first_id: int = 1_000_000) -> list[SearchDoc]:
    """Demo-like articles: titles and bodies from the seed generator, one a minute back."""
    rng = random.Random(seed)
    docs = []
    for i in range(size):
        topic = rng.choice(TOPICS)
        docs.append(
            doc(
                first_id + i,
                text.title(rng, topic),
                plain_text(text.body(rng, topic, None)),
                pubdate=BASE - timedelta(minutes=i),
                author=f"作者{i % 13}",
                channel=topic.name,
            )
        )
    return docs


@asynccontextmanager
async def own_engine(runtime: Runtime, path: Path) -> AsyncIterator[TantivySearch]:
    """A fresh index for one test, installed as the runtime's engine meanwhile."""
    engine = TantivySearch(path)
    previous, runtime.search = runtime.search, engine
    try:
        yield engine
    finally:
        runtime.search = previous
        await engine.close()
