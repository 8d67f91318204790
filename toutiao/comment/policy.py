"""Who may moderate a comment. Every surface asks here (mp today; mis checks its staff
permission first and then uses the same moderation functions)."""

from __future__ import annotations

from toutiao.models.enums import CommentStatus


def may_moderate(user_id: int, article_owner_id: int | None) -> bool:
    """The author of an article pins and deletes the comments on it; nobody else on mp. An
    article that does not exist has no comments to moderate."""
    return article_owner_id is not None and article_owner_id == user_id


def may_pin(status: CommentStatus) -> bool:
    """Only a published comment can be pinned."""
    return status == CommentStatus.APPROVED
