"""Articles: ``news_article_basic``, ``news_article_content``, ``news_article_statistic``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from toutiao.models.base import (
    AutoIdType,
    Base,
    IntEnumType,
    LongText,
    TimestampMixin,
    auto_pk,
    counter,
    flag,
    snowflake_pk,
    table_args,
)
from toutiao.models.channel import CHANNEL_FK, Channel
from toutiao.models.enums import ArticleStatus, CoverType
from toutiao.models.user import USER_FK, User

ARTICLE_FK = "news_article_basic.article_id"


def empty_cover() -> dict[str, Any]:
    return {"type": int(CoverType.NONE), "images": []}


class Article(TimestampMixin, Base):
    __tablename__ = "news_article_basic"
    __table_args__ = table_args(
        Index(None, "channel_id", "status", "pubdate"),  # channel feeds, newest first
        Index(None, "user_id", "status", "create_time"),  # an author's lists (app, mp)
        Index(None, "status", "create_time"),  # review queue, global recency
        # staff lists newest (or oldest) first across statuses, and creation ranges: the
        # index (with the primary key InnoDB appends) is the order (create_time, article_id)
        Index(None, "create_time"),
    )

    article_id: Mapped[int] = snowflake_pk()
    id: Mapped[int] = synonym("article_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK))
    channel_id: Mapped[int] = mapped_column(AutoIdType, ForeignKey(CHANNEL_FK))
    title: Mapped[str] = mapped_column(String(128))
    # {"type": 0|1|3, "images": [url, ...]}. Not mutation-tracked: assign a new dict.
    cover: Mapped[dict[str, Any]] = mapped_column(JSON, default=empty_cover)
    is_advertising: Mapped[bool] = flag()
    status: Mapped[ArticleStatus] = mapped_column(
        IntEnumType(ArticleStatus), default=ArticleStatus.DRAFT, server_default=text("0")
    )
    # Not in the original: when the article (last) became approved. NULL until then.
    pubdate: Mapped[datetime | None] = mapped_column(DateTime)
    # Staff id (mis_administrator); no foreign key, staff accounts can be deleted.
    reviewer_id: Mapped[int | None] = mapped_column(BigInteger)
    review_time: Mapped[datetime | None] = mapped_column(DateTime)
    delete_time: Mapped[datetime | None] = mapped_column(DateTime)
    # Reason of a rejection, or of a ban (mis M38).
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    comment_count: Mapped[int] = counter()
    allow_comment: Mapped[bool] = flag(True)

    user: Mapped[User] = relationship(lazy="raise")
    channel: Mapped[Channel] = relationship(lazy="raise")
    content: Mapped[ArticleContent | None] = relationship(
        lazy="raise", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )
    statistic: Mapped[ArticleStatistic | None] = relationship(
        lazy="raise", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )


class ArticleContent(TimestampMixin, Base):
    __tablename__ = "news_article_content"
    __table_args__ = table_args()

    article_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey(ARTICLE_FK, ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    id: Mapped[int] = synonym("article_id")
    content: Mapped[str] = mapped_column(LongText)


class ArticleStatistic(TimestampMixin, Base):
    """Obsolete in the original (live counters are Redis zsets); a fallback snapshot."""

    __tablename__ = "news_article_statistic"
    __table_args__ = table_args()

    article_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey(ARTICLE_FK, ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    id: Mapped[int] = synonym("article_id")
    read_count: Mapped[int] = counter()
    like_count: Mapped[int] = counter()
    dislike_count: Mapped[int] = counter()
    repost_count: Mapped[int] = counter()
    collect_count: Mapped[int] = counter()
    fans_comment_count: Mapped[int] = counter()


class ArticleOutbox(TimestampMixin, Base):
    """Articles whose state changed and that the rest of the platform (search index, caches,
    counters, feeds) must be brought in line with. Written in the transaction of the change,
    deleted once the platform agrees; a row left behind is retried (``content.sync``)."""

    __tablename__ = "news_article_outbox"
    __table_args__ = table_args(Index(None, "create_time"))

    id: Mapped[int] = auto_pk()
    # No foreign key: the row must not stand in the way of anything done to the article.
    article_id: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = counter()
