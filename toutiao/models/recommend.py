"""Recommendation settings: ``recommend_sensitive_word``."""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toutiao.models.base import Base, TimestampMixin, auto_pk, counter, table_args


class SensitiveWord(TimestampMixin, Base):
    """A word that holds a submission for human review once enough weight is found (mis M57)."""

    __tablename__ = "recommend_sensitive_word"
    # Case-insensitive on MySQL through the collation; the service compares lower-cased
    # words too, so SQLite (case-sensitive) behaves the same.
    __table_args__ = table_args(UniqueConstraint("word"))

    id: Mapped[int] = auto_pk()
    word: Mapped[str] = mapped_column(String(50))
    weights: Mapped[int] = mapped_column(Integer)
    hold_count: Mapped[int] = counter()
