"""Follow and blacklist: ``user_relation``."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from toutiao.models.base import Base, IntEnumType, TimestampMixin, auto_pk, table_args
from toutiao.models.enums import Relation
from toutiao.models.user import USER_FK, User


class UserRelation(TimestampMixin, Base):
    """One row per ordered pair; unfollowing sets ``relation`` to NONE instead of deleting."""

    __tablename__ = "user_relation"
    __table_args__ = table_args(
        # (user_id, ...) also serves "whom does this user follow / block".
        UniqueConstraint("user_id", "target_user_id"),
        # Followers of a user, newest first.
        Index(None, "target_user_id", "relation", "update_time"),
    )

    relation_id: Mapped[int] = auto_pk()
    id: Mapped[int] = synonym("relation_id")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    target_user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(USER_FK, ondelete="CASCADE"))
    relation: Mapped[Relation] = mapped_column(
        IntEnumType(Relation), default=Relation.NONE, server_default=text("0")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise")
    target_user: Mapped[User] = relationship(foreign_keys=[target_user_id], lazy="raise")
