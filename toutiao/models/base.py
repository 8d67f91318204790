"""Declarative base, shared column helpers and portable column types.

The schema runs on SQLite (embedded) and MySQL/MariaDB (production) from one migration
history, so every type here is chosen to render and reflect the same way on both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    SmallInteger,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Table options for MySQL/MariaDB; ignored by SQLite. utf8mb4 so Chinese text and emoji fit.
MYSQL_TABLE_OPTIONS: dict[str, str] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}

# Surrogate keys: BIGINT on MySQL, but INTEGER on SQLite, because only an
# "INTEGER PRIMARY KEY" column aliases the rowid there and so autoincrements.
AutoIdType = BigInteger().with_variant(Integer(), "sqlite")

# Article bodies can exceed TEXT's 64 KiB on MySQL.
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
MediumText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_args(*items: Any) -> tuple[Any, ...]:
    """``__table_args__`` with the shared MySQL options appended."""
    return (*items, dict(MYSQL_TABLE_OPTIONS))


def local_now() -> datetime:
    """Naive server-local time, whole seconds.

    The contracts print times in server local time without an offset. It is computed in
    Python rather than by the database because SQLite's CURRENT_TIMESTAMP is UTC while
    MySQL's is the session time zone; seconds only, because MySQL DATETIME would round.
    """
    return datetime.now(UTC).astimezone().replace(tzinfo=None, microsecond=0)


def snowflake_pk() -> Mapped[int]:
    """A 64-bit Snowflake primary key supplied by the application."""
    return mapped_column(BigInteger, primary_key=True, autoincrement=False)


def auto_pk() -> Mapped[int]:
    return mapped_column(AutoIdType, primary_key=True, autoincrement=True)


def flag(default: bool = False) -> Mapped[bool]:
    """A boolean column (TINYINT(1) on MySQL), NOT NULL with a server default."""
    return mapped_column(Boolean, default=default, server_default=text("1" if default else "0"))


def counter() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default=text("0"))


class TimestampMixin:
    # sort_order puts the two columns last, after the model's own ones.
    create_time: Mapped[datetime] = mapped_column(
        DateTime, default=local_now, server_default=text("CURRENT_TIMESTAMP"), sort_order=900
    )
    update_time: Mapped[datetime] = mapped_column(
        DateTime,
        default=local_now,
        onupdate=local_now,
        server_default=text("CURRENT_TIMESTAMP"),
        sort_order=901,
    )


E = TypeVar("E", bound=IntEnum)


class IntEnumType(TypeDecorator[E]):
    """Stores an ``IntEnum`` as a SMALLINT and loads it back as the enum member."""

    impl = SmallInteger
    cache_ok = True

    def __init__(self, enum_class: type[E]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_class(value)

    def __repr__(self) -> str:
        return f"IntEnumType({self.enum_class.__name__})"
