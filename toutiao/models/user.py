"""App users: ``user_basic``, ``user_profile``, ``user_search``, verification requests."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from toutiao.models.base import (
    AutoIdType,
    Base,
    IntEnumType,
    TimestampMixin,
    auto_pk,
    counter,
    flag,
    snowflake_pk,
    table_args,
)
from toutiao.models.enums import Gender, LegalizeStatus, LegalizeType, UserStatus

USER_FK = "user_basic.user_id"


class User(TimestampMixin, Base):
    __tablename__ = "user_basic"
    # user_name is indexed, not unique: the contracts do not require unique names.
    __table_args__ = table_args(
        UniqueConstraint("mobile"),
        UniqueConstraint("account"),
        Index(None, "user_name"),
    )

    user_id: Mapped[int] = snowflake_pk()
    id: Mapped[int] = synonym("user_id")
    mobile: Mapped[str] = mapped_column(String(11))
    user_name: Mapped[str] = mapped_column(String(32))
    # Only staff-created users (mis) have an account and a password; the app signs in by SMS.
    account: Mapped[str | None] = mapped_column(String(20))
    password: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[UserStatus] = mapped_column(
        IntEnumType(UserStatus), default=UserStatus.ENABLED, server_default=text("1")
    )
    profile_photo: Mapped[str | None] = mapped_column(String(255))
    last_login: Mapped[datetime | None] = mapped_column(DateTime)
    is_media: Mapped[bool] = flag()
    is_verified: Mapped[bool] = flag()
    introduction: Mapped[str | None] = mapped_column(String(60))  # app.md E14: up to 60 chars
    certificate: Mapped[str | None] = mapped_column(String(30))
    # Snapshot counters; the live values are Redis zsets reconciled from SQL (facts §3.4).
    article_count: Mapped[int] = counter()
    following_count: Mapped[int] = counter()
    fans_count: Mapped[int] = counter()
    like_count: Mapped[int] = counter()
    read_count: Mapped[int] = counter()

    profile: Mapped[UserProfile | None] = relationship(
        back_populates="user",
        lazy="raise",
        uselist=False,
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class UserProfile(TimestampMixin, Base):
    __tablename__ = "user_profile"
    __table_args__ = table_args()

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    id: Mapped[int] = synonym("user_id")
    gender: Mapped[Gender] = mapped_column(
        IntEnumType(Gender), default=Gender.MALE, server_default=text("0")
    )
    birthday: Mapped[date | None] = mapped_column(Date)
    real_name: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(20))
    id_card_front: Mapped[str | None] = mapped_column(String(255))
    id_card_back: Mapped[str | None] = mapped_column(String(255))
    id_card_handheld: Mapped[str | None] = mapped_column(String(255))
    register_media_time: Mapped[datetime | None] = mapped_column(DateTime)
    area: Mapped[str | None] = mapped_column(String(20))
    company: Mapped[str | None] = mapped_column(String(20))
    career: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship(back_populates="profile", lazy="raise")


class UserSearch(TimestampMixin, Base):
    """Obsolete in the original (search history lives in Redis); kept for data migration."""

    __tablename__ = "user_search"
    __table_args__ = table_args(Index(None, "user_id"))

    search_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("search_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    keyword: Mapped[str] = mapped_column(String(100))
    is_deleted: Mapped[bool] = flag()


class UserQualification(TimestampMixin, Base):
    """Documents of a self-media qualification request (legalize type 2)."""

    __tablename__ = "user_qualification"
    __table_args__ = table_args(Index(None, "user_id"))

    qualification_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("qualification_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(String(20))
    industry: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    add_info: Mapped[str | None] = mapped_column(String(200))
    id_card_front: Mapped[str | None] = mapped_column(String(200))
    id_card_back: Mapped[str | None] = mapped_column(String(200))
    id_card_handheld: Mapped[str | None] = mapped_column(String(200))
    qualification_img: Mapped[str | None] = mapped_column(String(200))


class UserLegalizeLog(TimestampMixin, Base):
    """A verification request: real name (type 1) or self-media qualification (type 2)."""

    __tablename__ = "user_legalize_log"
    __table_args__ = table_args(
        Index(None, "user_id", "status"),
        Index(None, "status", "update_time"),
        Index(None, "qualification_id"),
    )

    legalize_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("legalize_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    type: Mapped[LegalizeType] = mapped_column(IntEnumType(LegalizeType))
    status: Mapped[LegalizeStatus] = mapped_column(
        IntEnumType(LegalizeStatus), default=LegalizeStatus.PROCESSING, server_default=text("1")
    )
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    # NULL for real-name requests (the original required a value, 0 in practice).
    qualification_id: Mapped[int | None] = mapped_column(
        AutoIdType, ForeignKey("user_qualification.qualification_id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(lazy="raise")
    qualification: Mapped[UserQualification | None] = relationship(lazy="raise")
