"""What a fresh batch leaves for the next ones, so that most pull-to-refresh requests skip
recall and ranking:

- the **wait queue** (``keys.waiting``): one recall + ranking picks ``WAIT_BATCHES``
  batches' worth; the first is served, the rest wait (a zset, 10 minutes) and are served by
  the next fresh requests after a check that needs neither the database nor another round
  trip: still approved and in the channel (the in-process metadata cache), not pinned, not
  disliked, not by a blocked author. An article can wait in two queues of a user (its
  channel's and the recommended channel's); serving it from one removes it from the other
  in the same pipeline that records the batch, so it is not shown twice;
- the user's **exclusions** (dislikes, blocked authors both ways), cached as JSON next to
  the version the API bumps after every committed change (``events.queue_exclusions_changed``):
  a copy read under another version is stale and reloaded.

The reference system kept the same kind of queue (``reco:{user}:{channel}:art``, pre-ranked
candidates moved in from offline recall).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from toutiao.recommend import keys
from toutiao.recommend.rank import SOURCE_WEIGHTS

WAIT_BATCHES = 4
WAIT_TTL = 600
EXCLUSIONS_TTL = 600

Pairs = list[tuple[int, str]]  # (article id, the recall sources that found it)


# The queue is a zset of article ids (so one can be removed by id) scored by
# rank x 64 + the recall sources that found it as bits (exact in a double).
SOURCES = tuple(sorted(SOURCE_WEIGHTS))
_SLOTS = 64
assert len(SOURCES) < 7


def _bits(label: str) -> int:
    found = set(label.split("+"))
    return sum(1 << i for i, source in enumerate(SOURCES) if source in found)


def _label(bits: int) -> str:
    return "+".join(source for i, source in enumerate(SOURCES) if bits >> i & 1)


def queue_read_waiting(pipe: Any, uid: str, channel_id: int) -> None:
    pipe.zrange(keys.waiting(uid, channel_id), 0, -1, withscores=True)


def parse_waiting(raw: list[Any]) -> Pairs:
    """The queue, best first, from :func:`queue_read_waiting`'s result."""
    pairs: Pairs = []
    for member, score in raw:
        if member.isdigit():
            pairs.append((int(member), _label(int(score) % _SLOTS)))
    return pairs


def queue_waiting(pipe: Any, uid: str, channel_id: int, pairs: Pairs) -> None:
    """Replace the user's queue for the channel with ``pairs`` (empty: drop it)."""
    key = keys.waiting(uid, channel_id)
    pipe.delete(key)
    if pairs:
        pipe.zadd(
            key, {str(a): rank * _SLOTS + _bits(label) for rank, (a, label) in enumerate(pairs)}
        )
        pipe.expire(key, WAIT_TTL)


def queue_unqueue(pipe: Any, uid: str, channel_id: int, article_ids: Iterable[int]) -> None:
    """Served elsewhere: drop these from the user's queue of ``channel_id``."""
    members = [str(a) for a in article_ids]
    if members:
        pipe.zrem(keys.waiting(uid, channel_id), *members)


@dataclass
class Exclusions:
    disliked: set[int]
    blocked: set[int]  # authors blocked by the user or blocking the user
    version: str  # the version they were read under
    loaded: bool = False  # read from the database by this request: cache them


def version_text(raw: str | None) -> str:
    return raw or ""


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
