"""A reader's actions on an article: ``news_collection``, ``news_attitude``, ``news_report``.

Each is one row per (user, article), enforced by a unique key, so writers upsert instead of
read-then-insert (facts §14 item 23).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from toutiao.models.article import ARTICLE_FK, Article
from toutiao.models.base import Base, IntEnumType, TimestampMixin, auto_pk, flag, table_args
from toutiao.models.enums import Attitude, ReportStatus, ReportType
from toutiao.models.user import USER_FK, User


class Collection(TimestampMixin, Base):
    __tablename__ = "news_collection"
    __table_args__ = table_args(
        UniqueConstraint("user_id", "article_id"),
        Index(None, "user_id", "is_deleted", "update_time"),  # a user's collections, newest first
        Index(None, "article_id", "is_deleted"),  # per-article counts
    )

    collection_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("collection_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(ARTICLE_FK, ondelete="CASCADE"))
    is_deleted: Mapped[bool] = flag()

    article: Mapped[Article] = relationship(lazy="raise")


class ArticleAttitude(TimestampMixin, Base):
    __tablename__ = "news_attitude"
    __table_args__ = table_args(
        UniqueConstraint("user_id", "article_id"),
        Index(None, "article_id", "attitude"),  # per-article like / dislike counts
    )

    attitude_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("attitude_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(ARTICLE_FK, ondelete="CASCADE"))
    # NULL: no attitude (the row is kept when a like or dislike is withdrawn).
    attitude: Mapped[Attitude | None] = mapped_column(IntEnumType(Attitude))


class Report(TimestampMixin, Base):
    __tablename__ = "news_report"
    __table_args__ = table_args(
        UniqueConstraint("user_id", "article_id"),
        Index(None, "status", "article_id"),  # mis report queue
        Index(None, "article_id"),
    )

    report_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("report_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(ARTICLE_FK, ondelete="CASCADE"))
    type: Mapped[ReportType] = mapped_column(
        IntEnumType(ReportType), default=ReportType.OTHER, server_default=text("0")
    )
    remark: Mapped[str | None] = mapped_column(String(200))
    # Added for mis (M42-M44): processing state, who processed it and when.
    status: Mapped[ReportStatus] = mapped_column(
        IntEnumType(ReportStatus), default=ReportStatus.PENDING, server_default=text("0")
    )
    handler_id: Mapped[int | None] = mapped_column(BigInteger)
    handle_time: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="raise")
    article: Mapped[Article] = relationship(lazy="raise")
