"""Site announcements: ``global_announcement``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, synonym

from toutiao.models.base import Base, IntEnumType, MediumText, TimestampMixin, auto_pk, table_args
from toutiao.models.enums import AnnouncementStatus


class Announcement(TimestampMixin, Base):
    __tablename__ = "global_announcement"
    __table_args__ = table_args(Index(None, "status", "publish_time"))

    announcement_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("announcement_id")
    title: Mapped[str] = mapped_column(String(32))
    # Up to 20,000 characters (mis M46): more than MySQL TEXT's 64 KiB in utf8mb4.
    content: Mapped[str] = mapped_column(MediumText)
    status: Mapped[AnnouncementStatus] = mapped_column(
        IntEnumType(AnnouncementStatus),
        default=AnnouncementStatus.UNPUBLISHED,
        server_default=text("0"),
    )
    publish_time: Mapped[datetime | None] = mapped_column(DateTime)
