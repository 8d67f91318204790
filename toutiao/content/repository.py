"""SQL of the authoring side: an author's articles, status moves, the outbox, sensitive words."""

from __future__ import annotations

from collections.abc import Collection as Many
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.like import contains
from toutiao.models import (
    Article,
    ArticleContent,
    ArticleOutbox,
    ArticleStatistic,
    Channel,
    Collection,
    Report,
    SensitiveWord,
    User,
)
from toutiao.models.base import local_now
from toutiao.models.enums import ArticleStatus, ReportStatus

S = ArticleStatus
# What an author's "all" shows (deleted only on request); banned is shown as rejected.
LISTED = (S.DRAFT, S.PENDING, S.APPROVED, S.REJECTED, S.BANNED)


@dataclass(frozen=True)
class ArticleFilter:
    """An author's list query (mp.md §3.6); ``status`` is what the author asked for (0-4)."""

    status: int | None = None
    channel_id: int | None = None
    begin: date | None = None
    end: date | None = None
    title: str | None = None  # words the title contains (case-insensitive)


@dataclass(frozen=True)
class ListedArticle:
    article: Article
    fans_comment_count: int


def _statuses(wanted: int | None) -> Sequence[ArticleStatus]:
    if wanted is None:
        return LISTED
    if wanted == S.REJECTED:
        return (S.REJECTED, S.BANNED)
    return (S(wanted),)


def _author_query(author_id: int, where: ArticleFilter) -> Select[Any]:
    query = select(Article).where(
        Article.user_id == author_id, Article.status.in_(_statuses(where.status))
    )
    if where.title:
        query = query.where(contains(Article.title, where.title))
    if where.channel_id is not None:
        query = query.where(Article.channel_id == where.channel_id)
    if where.begin is not None:
        query = query.where(Article.create_time >= datetime.combine(where.begin, time.min))
    if where.end is not None:
        nextday = datetime.combine(where.end, time.min) + timedelta(days=1)
        query = query.where(Article.create_time < nextday)
    return query


async def author_articles(
    session: AsyncSession, author_id: int, where: ArticleFilter, *, offset: int, limit: int
) -> tuple[list[ListedArticle], int]:
    """A page of the author's articles, newest first, and how many match."""
    if where.begin and where.end and where.begin > where.end:
        return [], 0
    base = _author_query(author_id, where)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    query = (
        base.add_columns(func.coalesce(ArticleStatistic.fans_comment_count, 0))
        .outerjoin(ArticleStatistic, ArticleStatistic.article_id == Article.article_id)
        .order_by(Article.create_time.desc(), Article.article_id.desc())
        .offset(offset)
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [ListedArticle(row[0], int(row[1])) for row in rows], int(total or 0)


async def get_article(
    session: AsyncSession, article_id: int, *, lock: bool = False
) -> Article | None:
    query = select(Article).where(Article.article_id == article_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def lock_articles(session: AsyncSession, article_ids: Sequence[int]) -> list[Article]:
    """The rows, locked for the rest of the transaction, in id order (no lock-order deadlock)."""
    query = (
        select(Article)
        .where(Article.article_id.in_(sorted(set(article_ids))))
        .order_by(Article.article_id)
        .with_for_update()
    )
    return list(await session.scalars(query))


async def get_content(session: AsyncSession, article_id: int) -> str | None:
    return await session.scalar(
        select(ArticleContent.content).where(ArticleContent.article_id == article_id)
    )


async def channel_exists(session: AsyncSession, channel_id: int) -> bool:
    found = await session.scalar(select(Channel.channel_id).where(Channel.channel_id == channel_id))
    return found is not None


def add_article(session: AsyncSession, article: Article, content: str) -> None:
    session.add(article)
    session.add(ArticleContent(article_id=article.article_id, content=content))
    session.add(ArticleStatistic(article_id=article.article_id))


async def replace_content(session: AsyncSession, article_id: int, content: str) -> None:
    row = await session.get(ArticleContent, article_id)
    if row is None:
        session.add(ArticleContent(article_id=article_id, content=content))
    else:
        row.content = content


async def move_status(
    session: AsyncSession,
    article_ids: Sequence[int],
    expected: Many[ArticleStatus],
    values: dict[str, Any],
) -> int:
    """Conditional update on the expected current status: how many rows moved."""
    result = await session.execute(
        update(Article)
        .where(Article.article_id.in_(list(article_ids)), Article.status.in_(list(expected)))
        .values(**values, update_time=local_now())
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- the outbox: changes the rest of the platform has not caught up with --------------------


async def add_outbox(session: AsyncSession, article_ids: Sequence[int]) -> list[int]:
    rows = [ArticleOutbox(article_id=a) for a in dict.fromkeys(article_ids)]
    session.add_all(rows)
    await session.flush()
    return [row.id for row in rows]


async def stale_outbox(
    session: AsyncSession, older_than: datetime, limit: int
) -> list[tuple[int, int]]:
    """``(outbox id, article id)`` of changes still waiting since before ``older_than``."""
    rows = await session.execute(
        select(ArticleOutbox.id, ArticleOutbox.article_id)
        .where(ArticleOutbox.create_time <= older_than)
        .order_by(ArticleOutbox.id)
        .limit(limit)
    )
    return [(int(i), int(a)) for i, a in rows]


async def clear_outbox(session: AsyncSession, outbox_ids: Sequence[int]) -> None:
    if outbox_ids:
        await session.execute(delete(ArticleOutbox).where(ArticleOutbox.id.in_(list(outbox_ids))))


async def count_attempt(session: AsyncSession, outbox_ids: Sequence[int]) -> None:
    if outbox_ids:
        await session.execute(
            update(ArticleOutbox)
            .where(ArticleOutbox.id.in_(list(outbox_ids)))
            .values(attempts=ArticleOutbox.attempts + 1)
        )


# -- what the platform is brought in line with ----------------------------------------------


async def authors_of(session: AsyncSession, article_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Article.article_id, Article.user_id).where(Article.article_id.in_(article_ids))
    )
    return {int(a): int(u) for a, u in rows}


async def approved_counts(session: AsyncSession, author_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Article.user_id, func.count())
        .where(Article.user_id.in_(author_ids), Article.status == S.APPROVED)
        .group_by(Article.user_id)
    )
    found = {int(u): int(n) for u, n in rows}
    return {author: found.get(author, 0) for author in author_ids}


async def collectors(session: AsyncSession, article_ids: Sequence[int]) -> list[int]:
    """Users whose collection lists hold any of these articles."""
    rows = await session.scalars(
        select(Collection.user_id)
        .where(Collection.article_id.in_(article_ids), Collection.is_deleted.is_(False))
        .distinct()
    )
    return [int(u) for u in rows]


# -- sensitive words -------------------------------------------------------------------------


async def sensitive_words(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(select(SensitiveWord.word, SensitiveWord.weights))
    return [(str(word), int(weights)) for word, weights in rows]


async def count_holds(session: AsyncSession, words: Sequence[str]) -> None:
    if words:
        await session.execute(
            update(SensitiveWord)
            .where(SensitiveWord.word.in_(list(words)))
            .values(hold_count=SensitiveWord.hold_count + 1)
        )


async def word_page(
    session: AsyncSession, keyword: str | None, *, by_id: bool, offset: int, limit: int
) -> tuple[list[SensitiveWord], int]:
    """Staff's list (mis M57): last update first, or by id."""
    where = [contains(SensitiveWord.word, keyword)] if keyword else []
    total = await session.scalar(select(func.count()).select_from(SensitiveWord).where(*where))
    order = (
        (SensitiveWord.id,)
        if by_id
        else (SensitiveWord.update_time.desc(), SensitiveWord.id.desc())
    )
    rows = await session.scalars(
        select(SensitiveWord).where(*where).order_by(*order).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)


async def get_word(session: AsyncSession, word_id: int) -> SensitiveWord | None:
    return await session.get(SensitiveWord, word_id)


async def word_taken(session: AsyncSession, word: str, *, other_than: int | None = None) -> bool:
    """Case-insensitively (MySQL's collation already is; SQLite compares bytes)."""
    query = select(SensitiveWord.id).where(func.lower(SensitiveWord.word) == word.lower())
    if other_than is not None:
        query = query.where(SensitiveWord.id != other_than)
    return (await session.scalar(query.limit(1))) is not None


async def delete_word(session: AsyncSession, word_id: int) -> bool:
    result = await session.execute(delete(SensitiveWord).where(SensitiveWord.id == word_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -- staff lists (mis M37, M39) -----------------------------------------------------------------


@dataclass(frozen=True)
class StaffArticleFilter:
    """What staff filter articles by (mis M37); None = any."""

    title: str | None = None  # substring of the title
    channel: str | None = None  # substring of a channel name
    statuses: tuple[ArticleStatus, ...] | None = None
    begin: datetime | None = None  # creation time bounds, inclusive
    end: datetime | None = None
    channel_id: int | None = None
    user_id: int | None = None
    order_by: str | None = None  # "id", "create_time" or None (newest first)


@dataclass(frozen=True)
class StaffArticleRow:
    article: Article
    author_name: str | None
    channel_name: str | None


_STAFF_ORDERS: dict[str | None, tuple[Any, ...]] = {
    None: (Article.create_time.desc(), Article.article_id.desc()),
    "id": (Article.article_id,),
    "create_time": (Article.create_time, Article.article_id),
}


def _staff_where(where: StaffArticleFilter) -> list[Any]:
    found: list[Any] = []
    if where.title:
        found.append(contains(Article.title, where.title))
    if where.channel:
        names = select(Channel.channel_id).where(contains(Channel.channel_name, where.channel))
        found.append(Article.channel_id.in_(names))
    if where.statuses is not None:
        found.append(Article.status.in_([int(s) for s in where.statuses]))
    if where.begin is not None:
        found.append(Article.create_time >= where.begin)
    if where.end is not None:
        found.append(Article.create_time <= where.end)
    if where.channel_id is not None:
        found.append(Article.channel_id == where.channel_id)
    if where.user_id is not None:
        found.append(Article.user_id == where.user_id)
    return found


def _staff_rows() -> Select[Any]:
    return (
        select(Article, User.user_name, Channel.channel_name)
        .outerjoin(User, User.user_id == Article.user_id)
        .outerjoin(Channel, Channel.channel_id == Article.channel_id)
    )


async def staff_articles(
    session: AsyncSession, where: StaffArticleFilter, *, offset: int, limit: int
) -> tuple[list[StaffArticleRow], int]:
    """One page and the total in one statement. The page's ids are chosen first from the
    indexes alone (``(status, create_time)``, ``(create_time, status)``, the primary key),
    and only those rows are read and joined to their author and channel: a deep page skips
    index entries, not joined rows. The total rides along as a scalar subquery; a page past
    the end (no row to carry it) costs a second count."""
    conditions = _staff_where(where)
    order = _STAFF_ORDERS[where.order_by]
    count = select(func.count()).select_from(Article).where(*conditions)
    page = (
        select(Article.article_id)
        .where(*conditions)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
        .subquery("page")
    )
    rows = (
        await session.execute(
            _staff_rows()
            .add_columns(count.scalar_subquery())
            .join(page, page.c.article_id == Article.article_id)
            .order_by(*order)
        )
    ).all()
    if rows:
        return [StaffArticleRow(*row[:-1]) for row in rows], int(rows[0][-1])
    return [], int(await session.scalar(count) or 0) if offset else 0


async def staff_article(session: AsyncSession, article_id: int) -> StaffArticleRow | None:
    row = (await session.execute(_staff_rows().where(Article.article_id == article_id))).first()
    return None if row is None else StaffArticleRow(*row)


async def pending_report_count(session: AsyncSession, article_id: int) -> int:
    query = select(func.count()).where(
        Report.article_id == article_id, Report.status == ReportStatus.PENDING
    )
    return int(await session.scalar(query) or 0)
