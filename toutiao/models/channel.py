"""Channels and users' channel lists: ``news_channel``, ``news_user_channel``."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from toutiao.models.base import AutoIdType, Base, TimestampMixin, auto_pk, flag, table_args
from toutiao.models.user import USER_FK

CHANNEL_FK = "news_channel.channel_id"


class Channel(TimestampMixin, Base):
    """A real channel. Channel 0 ("推荐", recommended) is virtual and has no row."""

    __tablename__ = "news_channel"
    __table_args__ = table_args(UniqueConstraint("channel_name"))

    channel_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("channel_id")
    channel_name: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = synonym("channel_name")
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    is_visible: Mapped[bool] = flag()
    is_default: Mapped[bool] = flag()


class UserChannel(TimestampMixin, Base):
    __tablename__ = "news_user_channel"
    __table_args__ = table_args(
        UniqueConstraint("user_id", "channel_id"),
        Index(None, "channel_id"),
    )

    user_channel_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("user_channel_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(AutoIdType, ForeignKey(CHANNEL_FK, ondelete="CASCADE"))
    is_deleted: Mapped[bool] = flag()
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    channel: Mapped[Channel] = relationship(lazy="raise")
