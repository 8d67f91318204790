"""Who may move an article where: the one place these rules live (mp now, mis next).

- An author sees and changes only their own articles; anyone else's is "not found" (mp.md
  §6.1), so an id never reveals that it exists.
- The moves of the review workflow (mp.md §6.2, mis.md M38) and the statuses each starts from.
  Staff permissions (which staff member may review) are the operations API's business; this
  module says what the article allows.
"""

from __future__ import annotations

from collections.abc import Collection as Many
from dataclasses import dataclass
from enum import StrEnum

from toutiao.kit.errors import BadRequest, NotFound
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus

S = ArticleStatus


class ActorKind(StrEnum):
    AUTHOR = "author"
    STAFF = "staff"


@dataclass(frozen=True)
class Actor:
    """Who asks: an author (user id) or a staff member (administrator id)."""

    kind: ActorKind
    id: int

    @classmethod
    def author(cls, user_id: int) -> Actor:
        return cls(ActorKind.AUTHOR, user_id)

    @classmethod
    def staff(cls, administrator_id: int) -> Actor:
        return cls(ActorKind.STAFF, administrator_id)

    @property
    def is_staff(self) -> bool:
        return self.kind is ActorKind.STAFF


@dataclass(frozen=True)
class Move:
    name: str  # also the audit event, ``article.<name>``
    sources: frozenset[ArticleStatus]
    staff_only: bool = False

    def allows(self, status: ArticleStatus) -> bool:
        return status in self.sources


EDITABLE = frozenset({S.DRAFT, S.PENDING, S.APPROVED, S.REJECTED})
SAVE_DRAFT = Move("draft", EDITABLE)
SUBMIT = Move("submit", EDITABLE)
WITHDRAW = Move("withdraw", frozenset({S.APPROVED}))
# Authors may delete a banned article too: they see it as "review failed".
DELETE = Move("delete", frozenset({S.DRAFT, S.PENDING, S.APPROVED, S.REJECTED, S.BANNED}))
APPROVE = Move("approve", frozenset({S.PENDING}), staff_only=True)
REJECT = Move("reject", frozenset({S.PENDING}), staff_only=True)
BAN = Move("ban", frozenset({S.APPROVED}), staff_only=True)
UNBAN = Move("unban", frozenset({S.BANNED}), staff_only=True)


def visible_to(actor: Actor, article: Article | None) -> Article:
    """The article if ``actor`` may see it at all; else the same 404 as a missing one."""
    if article is None:
        raise NotFound("Article not found.")
    if actor.is_staff or article.user_id == actor.id:
        return article
    raise NotFound("Article not found.")


def check_editable(article: Article) -> None:
    """Authors edit anything but a deleted article (deleting is final for them); a banned one
    goes back to review like any edit (mp.md §7 item 15 leaves it to us)."""
    if article.status == S.DELETED:
        raise BadRequest("A deleted article cannot be edited.")


def allowed_for(actor: Actor, move: Move) -> None:
    if move.staff_only and not actor.is_staff:
        raise NotFound("Article not found.")


def blocked(articles: Many[Article], move: Move) -> list[Article]:
    """The articles ``move`` does not allow, in id order."""
    return sorted((a for a in articles if not move.allows(a.status)), key=lambda a: a.article_id)


def reported_status(status: ArticleStatus) -> int:
    """What the author's front end may see: 0-4 only; banned shows as rejected (mp.md §1.6)."""
    return int(S.REJECTED) if status == S.BANNED else int(status)
