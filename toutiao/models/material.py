"""An author's image library: ``user_material``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, synonym

from toutiao.models.base import Base, IntEnumType, TimestampMixin, auto_pk, flag, table_args
from toutiao.models.enums import MaterialStatus, MaterialType
from toutiao.models.user import USER_FK


class Material(TimestampMixin, Base):
    __tablename__ = "user_material"
    __table_args__ = table_args(
        # A re-upload of the same file by the same user revives the old row (mp §3.13).
        UniqueConstraint("user_id", "hash"),
        Index(None, "user_id", "type", "status", "is_collected"),
    )

    material_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("material_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    type: Mapped[MaterialType] = mapped_column(
        IntEnumType(MaterialType), default=MaterialType.IMAGE, server_default=text("0")
    )
    hash: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(String(255))
    status: Mapped[MaterialStatus] = mapped_column(
        IntEnumType(MaterialStatus), default=MaterialStatus.PENDING, server_default=text("0")
    )
    reviewer_id: Mapped[int | None] = mapped_column(BigInteger)
    review_time: Mapped[datetime | None] = mapped_column(DateTime)
    is_collected: Mapped[bool] = flag()
