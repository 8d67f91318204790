"""Demo data: channels, users, articles and reader activity, deterministic for a given seed.

Rows are built as dicts and written with bulk INSERTs, one transaction per batch of
articles (see :func:`seed_demo` for resuming). Articles are generated and written batch by
batch, the next batch made in a thread while the current one is written, so memory stays
flat however many are asked for.
Redis counters are not written here; run ``stats.service.rebuild_counters`` afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.engines.storage import Storage
from toutiao.kit.db import Database
from toutiao.kit.ids import Snowflake
from toutiao.models import (
    Announcement,
    Article,
    ArticleAttitude,
    ArticleContent,
    Channel,
    Collection,
    Comment,
    CommentLiking,
    SensitiveWord,
    User,
    UserChannel,
    UserProfile,
    UserRelation,
)
from toutiao.models.base import local_now
from toutiao.seed import library, people, pictures, shelf
from toutiao.seed.articles import ArticleFactory, Batch
from toutiao.seed.words import TOPICS, Topic
from toutiao.stats import counters
from toutiao.stats.service import user_counts_from_db

BATCH = 1000
AVATAR_SHARE = 0.6


@dataclass
class SeedReport:
    skipped: bool = False
    channels: int = 0
    users: int = 0
    articles: int = 0
    articles_by_status: dict[str, int] = field(default_factory=dict)
    follows: int = 0
    user_channels: int = 0
    attitudes: int = 0
    collections: int = 0
    comments: int = 0
    comment_likes: int = 0
    announcements: int = 0
    avatars: int = 0
    cover_images: int = 0
    library_images: int = 0
    editor_articles: int = 0
    sensitive_words: int = 0
    article_statistics: int = 0
    elapsed: float = 0.0
    resumed_at: int | None = None  # articles already there when this run started
    stopped: bool = False  # stopped early (stop_after_batches); run again to finish


async def _insert(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> int:
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(model), rows[start : start + BATCH])
    return len(rows)


async def _cover_urls(storage: Storage, rng: random.Random, count: int) -> list[str]:
    urls = []
    for index in range(count):
        fmt, ext, mime = (
            ("PNG", "png", "image/png") if index % 4 == 3 else ("JPEG", "jpg", "image/jpeg")
        )
        key = await storage.put(pictures.cover(rng, fmt), content_type=mime, ext=ext)
        urls.append(storage.url(key))
    return urls


async def _avatars(storage: Storage, rng: random.Random, users: list[dict[str, Any]]) -> int:
    made = 0
    for index, user in enumerate(users):
        if index and rng.random() >= AVATAR_SHARE:
            continue
        data = pictures.avatar_png(rng)
        user["profile_photo"] = await storage.put(data, content_type="image/png", ext="png")
        made += 1
    return made


@contextlib.contextmanager
def _progress(enabled: bool, total: int, done: int = 0) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda _n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns) as bar:
        task = bar.add_task("demo articles", total=total, completed=done)
        yield lambda n: bar.advance(task, n)


async def _write_batch(session: AsyncSession, batch: Batch, report: SeedReport) -> None:
    report.articles += await _insert(session, Article, batch.articles)
    await _insert(session, ArticleContent, batch.contents)
    report.attitudes += await _insert(session, ArticleAttitude, batch.attitudes)
    report.collections += await _insert(session, Collection, batch.collections)
    # Top-level comments first: replies reference them.
    report.comments += await _insert(session, Comment, batch.comments)
    report.comments += await _insert(session, Comment, batch.replies)
    report.comment_likes += await _insert(session, CommentLiking, batch.comment_likes)
    statuses = Counter(row["status"].name.lower() for row in batch.articles)
    for name, count in statuses.items():
        report.articles_by_status[name] = report.articles_by_status.get(name, 0) + count


async def _channels(session: AsyncSession) -> list[tuple[int, Topic]]:
    rows = await session.execute(select(Channel.channel_name, Channel.channel_id))
    by_name: dict[str, int] = dict(rows.all())
    return [(by_name[topic.name], topic) for topic in TOPICS]


async def _snapshot_user_counters(session: AsyncSession, user_ids: list[int]) -> None:
    """Fill user_basic's snapshot counters so SQL-only readers see plausible numbers."""
    counts = await user_counts_from_db(session, user_ids)
    rows = [
        {
            "user_id": uid,
            "article_count": values[counters.USER_ARTICLES.key],
            "following_count": values[counters.USER_FOLLOWINGS.key],
            "fans_count": values[counters.USER_FANS.key],
            "like_count": values[counters.USER_LIKED.key],
        }
        for uid, values in counts.items()
    ]
    await session.execute(update(User), rows)


async def seed_demo(
    db: Database,
    storage: Storage,
    ids: Snowflake,
    *,
    users: int = 40,
    articles: int = 1200,
    seed: int = 20260101,
    progress: bool = True,
    cover_images: int = 24,
    batch: int = BATCH,
    max_batches: int | None = None,
) -> SeedReport:
    """Load the demo data, or finish loading it.

    Three steps, each committed: the people (channels, users, follows, announcements); the
    articles with their readers' reactions and comments, one transaction per ``BATCH``
    articles; then the editor's shelf, sensitive words, counters and library. A seed stopped
    anywhere loses at most one batch (rolled back in seconds) and the same command resumes
    at the first missing batch; a finished one (sensitive words present) is skipped.
    ``max_batches`` writes at most that many article batches in this run, then returns a
    report with ``stopped`` set (load a big catalogue in several sittings).
    """
    started = time.perf_counter()
    async with db.session() as session:
        state = await _state(session)
    if state.finished:
        return SeedReport(skipped=True, elapsed=time.perf_counter() - started)
    # Pictures draw from their own stream, so changing cover_images leaves the text alone;
    # storage keys are content hashes, so a resumed seed finds the same cover URLs.
    rng, picture_rng = random.Random(seed), random.Random(f"{seed}:pictures")
    now = local_now()
    report = SeedReport(cover_images=cover_images)
    cover_urls = await _cover_urls(storage, picture_rng, cover_images)
    async with db.session() as session:
        if state.people:
            report.resumed_at = state.articles
        else:
            _count_people(
                report, await _people(session, storage, ids, rng, picture_rng, users, now)
            )
            await session.commit()
        channels, user_rows = await _load_people(session)
        follows = await library.followed_pairs(session)
    report.channels, report.users = len(channels), len(user_rows)
    # The editor's shelf is part of the articles asked for, so --articles N means N in all.
    with_shelf = articles >= 2 * len(shelf.SHELF)
    generated = articles - len(shelf.SHELF) if with_shelf else articles
    factory = ArticleFactory(
        random.Random(f"{seed}:readers"),
        ids,
        now,
        total=generated,
        channels=channels,
        users=user_rows,
        cover_urls=cover_urls,
        seed=seed,
    )
    first = min(state.articles, generated)
    batches = range(first, generated, batch)
    with _progress(progress, generated, first) as advance:
        pending = _make(factory, first, batch, generated)
        for done, start in enumerate(batches):
            stop = min(start + batch, generated)
            rows = await pending
            pending = _make(factory, stop, batch, generated)  # made while this one is written
            async with db.session() as session:
                await _write_batch(session, rows, report)
                await library.add_article_statistics(
                    session, now, rows.articles, [*rows.comments, *rows.replies], follows
                )
                await session.commit()
            advance(stop - start)
            if max_batches is not None and done + 1 >= max_batches and stop < generated:
                await asyncio.gather(pending, return_exceptions=True)
                report.elapsed = time.perf_counter() - started
                report.stopped = True
                return report
        await pending  # the empty batch after the last
    async with db.session() as session:
        await _finish(
            session, storage, ids, seed, now, user_rows, channels, cover_urls, report, with_shelf
        )
        await session.commit()
    report.elapsed = time.perf_counter() - started
    return report


def _make(factory: ArticleFactory, start: int, size: int, end: int) -> asyncio.Task[Batch]:
    return asyncio.create_task(asyncio.to_thread(factory.batch, start, min(start + size, end)))


@dataclass
class _State:
    people: bool  # channels and users are there
    articles: int  # generated articles committed so far
    finished: bool


async def _state(session: AsyncSession) -> _State:
    if await session.scalar(select(Channel.channel_id).limit(1)) is None:
        return _State(False, 0, False)
    finished = await session.scalar(select(SensitiveWord.id).limit(1)) is not None
    articles = int(await session.scalar(select(func.count()).select_from(Article)) or 0)
    return _State(True, articles, finished)


async def _people(
    session: AsyncSession,
    storage: Storage,
    ids: Snowflake,
    rng: random.Random,
    picture_rng: random.Random,
    users: int,
    now: Any,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    await _insert(session, Channel, people.channel_rows(now))
    user_rows, profiles = people.user_rows(rng, ids, users, now)
    counts["avatars"] = await _avatars(storage, picture_rng, user_rows)
    await _insert(session, User, user_rows)
    await _insert(session, UserProfile, profiles)
    counts["follows"] = await _insert(
        session, UserRelation, people.follow_rows(rng, user_rows, now)
    )
    channels = await _channels(session)
    counts["user_channels"] = await _insert(
        session,
        UserChannel,
        people.user_channel_rows(rng, user_rows, [cid for cid, _ in channels]),
    )
    counts["announcements"] = await _insert(
        session, Announcement, people.announcement_rows(rng, now)
    )
    return counts


def _count_people(report: SeedReport, counts: dict[str, int]) -> None:
    report.avatars = counts["avatars"]
    report.follows = counts["follows"]
    report.user_channels = counts["user_channels"]
    report.announcements = counts["announcements"]


async def _load_people(
    session: AsyncSession,
) -> tuple[list[tuple[int, Topic]], list[dict[str, Any]]]:
    """The channels and users the first step wrote, as the article factory needs them (users
    oldest first, as they were made)."""
    channels = await _channels(session)
    rows = await session.execute(
        select(User.user_id, User.is_media, User.create_time).order_by(User.user_id)
    )
    users = [
        {"user_id": uid, "is_media": bool(media), "create_time": created}
        for uid, media, created in rows
    ]
    return channels, users


async def _finish(
    session: AsyncSession,
    storage: Storage,
    ids: Snowflake,
    seed: int,
    now: Any,
    user_rows: list[dict[str, Any]],
    channels: list[tuple[int, Topic]],
    cover_urls: list[str],
    report: SeedReport,
    with_shelf: bool,
) -> None:
    editor = user_rows[0]["user_id"]
    if with_shelf:
        shelf_rng = random.Random(f"{seed}:shelf")
        rows, contents = shelf.editor_shelf(shelf_rng, ids, now, editor, channels, cover_urls)
        await _write_batch(session, Batch(articles=rows, contents=contents), report)
        report.editor_articles = len(rows)
        await library.add_article_statistics(session, now, rows, [], set())
    report.sensitive_words = await _insert(session, SensitiveWord, shelf.sensitive_word_rows(now))
    await _snapshot_user_counters(session, [u["user_id"] for u in user_rows])
    library_rng = random.Random(f"{seed}:library")
    report.library_images = await library.add_library(session, storage, library_rng, editor, now)
    report.article_statistics = await library.count_article_statistics(session)
