"""What a fresh batch leaves for the next ones, so that most pull-to-refresh requests skip
recall and ranking:

- the **wait queue** (``keys.waiting``): one recall + ranking picks ``WAIT_BATCHES``
  batches' worth; the first is served, the rest wait (a list, best first, 10 minutes) and
  are served by the next fresh requests after a check that needs no database: still
  approved and in the channel (the in-process metadata cache), not pinned, not disliked,
  not by a blocked author, not shown since (one ZMSCORE);
- the user's **exclusions** (dislikes, blocked authors both ways), cached as JSON next to
  the version the API bumps after every committed change (``events.queue_exclusions_changed``):
  a copy read under another version is stale and reloaded.

The reference system kept the same kind of queue (``reco:{user}:{channel}:art``, pre-ranked
candidates moved in from offline recall).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from toutiao.recommend import keys

WAIT_BATCHES = 4
WAIT_TTL = 600
EXCLUSIONS_TTL = 600

Pairs = list[tuple[int, str]]  # (article id, the recall sources that found it)


def parse_waiting(raw: list[Any]) -> Pairs:
    pairs: Pairs = []
    for member in raw:
        text = member.decode() if isinstance(member, bytes) else str(member)
        aid, _, label = text.partition(" ")
        if aid.isdigit():
            pairs.append((int(aid), label))
    return pairs


def queue_waiting(pipe: Any, uid: str, channel_id: int, pairs: Pairs) -> None:
    """Replace the user's queue for the channel with ``pairs`` (empty: drop it)."""
    key = keys.waiting(uid, channel_id)
    pipe.delete(key)
    if pairs:
        pipe.rpush(key, *(f"{aid} {label}" for aid, label in pairs))
        pipe.expire(key, WAIT_TTL)


@dataclass
class Exclusions:
    disliked: set[int]
    blocked: set[int]  # authors blocked by the user or blocking the user
    version: str  # the version they were read under
    loaded: bool = False  # read from the database by this request: cache them


def version_text(raw: Any) -> str:
    if raw is None:
        return ""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def parse_exclusions(raw: Any, version: str) -> Exclusions | None:
    """The cached copy, or None when there is none or it was read under another version."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
        if data.get("v") != version:
            return None
        return Exclusions(set(map(int, data["a"])), set(map(int, data["u"])), version)
    except (ValueError, TypeError, KeyError):
        return None


def queue_exclusions(pipe: Any, uid: str, found: Exclusions) -> None:
    body = {"v": found.version, "a": sorted(found.disliked), "u": sorted(found.blocked)}
    pipe.set(keys.exclusions(uid), json.dumps(body, separators=(",", ":")), ex=EXCLUSIONS_TTL)
