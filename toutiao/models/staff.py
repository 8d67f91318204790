"""Operations staff: ``mis_administrator``, groups, permissions, the operation log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from toutiao.models.base import AutoIdType, Base, IntEnumType, TimestampMixin, auto_pk, table_args
from toutiao.models.enums import PermissionType, StaffStatus

GROUP_FK = "mis_administrator_group.group_id"
PERMISSION_FK = "mis_permission.permission_id"


def _status() -> Mapped[StaffStatus]:
    return mapped_column(
        IntEnumType(StaffStatus), default=StaffStatus.ENABLED, server_default=text("1")
    )


class AdministratorGroup(TimestampMixin, Base):
    __tablename__ = "mis_administrator_group"
    __table_args__ = table_args(UniqueConstraint("name"))

    group_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("group_id")
    name: Mapped[str] = mapped_column(String(20))
    status: Mapped[StaffStatus] = _status()
    remark: Mapped[str | None] = mapped_column(String(100))

    # Read-only view; grants are written as GroupPermission rows.
    permissions: Mapped[list[Permission]] = relationship(
        secondary="mis_group_permission", lazy="raise", viewonly=True
    )


class Administrator(TimestampMixin, Base):
    __tablename__ = "mis_administrator"
    __table_args__ = table_args(UniqueConstraint("account"), Index(None, "group_id"))

    administrator_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("administrator_id")
    account: Mapped[str] = mapped_column(String(20))
    # argon2id hash (about 97 chars) or a legacy werkzeug pbkdf2 hash; widened from 93.
    password: Mapped[str] = mapped_column(String(255))
    # Tokens issued before this moment are refused (mis §1.6 step 4). Added.
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    name: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(30))
    mobile: Mapped[str | None] = mapped_column(String(20))
    # No ON DELETE: a group with members cannot be deleted (mis M17 answers 409).
    group_id: Mapped[int] = mapped_column(AutoIdType, ForeignKey(GROUP_FK))
    access_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    status: Mapped[StaffStatus] = _status()
    last_login: Mapped[datetime | None] = mapped_column(DateTime)

    group: Mapped[AdministratorGroup] = relationship(lazy="raise")


class Permission(TimestampMixin, Base):
    """A menu (type 0) or a permission point (type 1) in one tree; ``parent_id`` 0 = top."""

    __tablename__ = "mis_permission"
    __table_args__ = table_args(
        UniqueConstraint("name"),
        Index(None, "parent_id", "sequence"),
        # Codes of permission points are unique, menus may repeat or omit theirs, so
        # uniqueness is the service's job (no portable partial unique index).
        Index(None, "code"),
    )

    permission_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("permission_id")
    name: Mapped[str] = mapped_column(String(50))
    type: Mapped[PermissionType] = mapped_column(
        IntEnumType(PermissionType), default=PermissionType.POINT, server_default=text("1")
    )
    # Not a foreign key: 0 marks the top level.
    parent_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    code: Mapped[str | None] = mapped_column(String(50))
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class GroupPermission(TimestampMixin, Base):
    __tablename__ = "mis_group_permission"
    __table_args__ = table_args(
        UniqueConstraint("group_id", "permission_id"),
        Index(None, "permission_id"),
    )

    group_permission_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("group_permission_id")
    group_id: Mapped[int] = mapped_column(AutoIdType, ForeignKey(GROUP_FK, ondelete="CASCADE"))
    permission_id: Mapped[int] = mapped_column(
        AutoIdType, ForeignKey(PERMISSION_FK, ondelete="CASCADE")
    )


class OperationLog(TimestampMixin, Base):
    """Append-only audit trail; rows outlive the staff account that wrote them."""

    __tablename__ = "mis_operation_log"
    __table_args__ = table_args(
        Index(None, "create_time"),
        Index(None, "administrator_id", "create_time"),
        Index(None, "operation"),
    )

    operation_log_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("operation_log_id")
    # Deliberately not a foreign key (see the class docstring).
    administrator_id: Mapped[int] = mapped_column(BigInteger)
    ip: Mapped[str] = mapped_column(String(45))  # widened from 16 for IPv6
    operation: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(200))
