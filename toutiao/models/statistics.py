"""Site statistics read by mis (M51-M56), filled as described in mis.md §5."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from toutiao.models.base import Base, IntEnumType, TimestampMixin, auto_pk, table_args
from toutiao.models.enums import StatisticsType


def _count() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default=text("0"))


class _HourBucket:
    """One clock hour; ``date_time`` is its start, the parts are kept for the unique key."""

    year: Mapped[int] = mapped_column(SmallInteger)
    month: Mapped[int] = mapped_column(SmallInteger)
    day: Mapped[int] = mapped_column(SmallInteger)
    hour: Mapped[int] = mapped_column(SmallInteger)
    date_time: Mapped[datetime] = mapped_column(DateTime)


class StatisticsBasic(_HourBucket, TimestampMixin, Base):
    """One row per hour and metric (``type``), upserted by the ``stats.rollup`` job."""

    __tablename__ = "statistics_basic"
    __table_args__ = table_args(
        UniqueConstraint("year", "month", "day", "hour", "type"),
        Index(None, "type", "date_time"),
    )

    id: Mapped[int] = auto_pk()
    type: Mapped[StatisticsType] = mapped_column(IntEnumType(StatisticsType))
    count: Mapped[int] = _count()


class StatisticsSearch(_HourBucket, TimestampMixin, Base):
    """Searches per hour and keyword."""

    __tablename__ = "statistics_search"
    __table_args__ = table_args(
        UniqueConstraint("year", "month", "day", "hour", "keyword"),
        Index(None, "keyword", "date_time"),
        Index(None, "date_time"),
    )

    id: Mapped[int] = auto_pk()
    keyword: Mapped[str] = mapped_column(String(100))
    user_count: Mapped[int] = _count()
    count: Mapped[int] = _count()


class StatisticsSearchTotal(TimestampMixin, Base):
    """All-time searches per keyword."""

    __tablename__ = "statistics_search_total"
    __table_args__ = table_args(UniqueConstraint("keyword"))

    id: Mapped[int] = auto_pk()
    keyword: Mapped[str] = mapped_column(String(100))
    user_count: Mapped[int] = _count()
    count: Mapped[int] = _count()


class StatisticsSalesTotal(TimestampMixin, Base):
    """Sales per area, in fen; imported from outside (the platform sells nothing)."""

    __tablename__ = "statistics_sales_total"
    __table_args__ = table_args(UniqueConstraint("area"))

    id: Mapped[int] = auto_pk()
    # A SalesArea value; plain int because imported rows may carry unknown codes (skipped).
    area: Mapped[int] = mapped_column(Integer)
    money: Mapped[int] = _count()


class StatisticsReadSourceTotal(TimestampMixin, Base):
    """Reads per source, split by how much of the article was read."""

    __tablename__ = "statistics_read_source_total"
    __table_args__ = table_args(UniqueConstraint("source"))

    id: Mapped[int] = auto_pk()
    # A ReadSource value; plain int because unknown codes are skipped, not fatal (M55).
    source: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = _count()
    count_20_down: Mapped[int] = _count()
    count_20_80: Mapped[int] = _count()
    count_80_up: Mapped[int] = _count()
