"""Comments and replies: ``news_comment``, ``news_comment_liking``."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from toutiao.models.article import ARTICLE_FK, Article
from toutiao.models.base import (
    Base,
    IntEnumType,
    TimestampMixin,
    auto_pk,
    counter,
    flag,
    snowflake_pk,
    table_args,
)
from toutiao.models.enums import CommentStatus
from toutiao.models.user import USER_FK, User

COMMENT_FK = "news_comment.comment_id"


class Comment(TimestampMixin, Base):
    """A comment on an article (``parent_id`` NULL) or a reply to a comment."""

    __tablename__ = "news_comment"
    __table_args__ = table_args(
        Index(None, "article_id", "parent_id", "status"),  # an article's comments
        Index(None, "parent_id", "status"),  # a comment's replies
        Index(None, "user_id"),
        Index(None, "status", "create_time"),  # mis moderation queue
    )

    comment_id: Mapped[int] = snowflake_pk()
    id: Mapped[int] = synonym("comment_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK))
    article_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(ARTICLE_FK))
    # CASCADE: InnoDB checks foreign keys row by row, so a bulk DELETE of the table would
    # otherwise fail on a parent deleted before its replies. The app only soft-deletes.
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(COMMENT_FK, ondelete="CASCADE")
    )
    like_count: Mapped[int] = counter()
    reply_count: Mapped[int] = counter()
    content: Mapped[str] = mapped_column(String(200))
    is_top: Mapped[bool] = flag()
    # PENDING by default, as in the original table; the service sets APPROVED unless
    # pre-moderation is on (the original ORM silently defaulted to APPROVED).
    status: Mapped[CommentStatus] = mapped_column(
        IntEnumType(CommentStatus), default=CommentStatus.PENDING, server_default=text("0")
    )

    user: Mapped[User] = relationship(lazy="raise")
    article: Mapped[Article] = relationship(lazy="raise")
    parent: Mapped[Comment | None] = relationship(remote_side=[comment_id], lazy="raise")


class CommentLiking(TimestampMixin, Base):
    __tablename__ = "news_comment_liking"
    __table_args__ = table_args(
        UniqueConstraint("user_id", "comment_id"),
        Index(None, "comment_id", "is_deleted"),
    )

    liking_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("liking_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(COMMENT_FK, ondelete="CASCADE"))
    is_deleted: Mapped[bool] = flag()
