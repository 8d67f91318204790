"""Feed history per (user, channel): the batches served, keyed by the request timestamp, so
scrolling back replays exactly what was shown (app.md E33 [Recommended]).

``reco:user:{<uid>}:{cid}:his`` is a zset whose members are the batches themselves
(``"{timestamp}|[[article_id, sources], ...]"``) scored by the request timestamp in ms (exact
in a double). Reading the position of a request therefore also reads the batch a replay
needs, and recording trims the history in the same round trip (ZREMRANGEBYRANK): one round
trip each way. Only the newest ``MAX_BATCHES`` are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from toutiao.recommend import keys

MAX_BATCHES = 30
HISTORY_TTL = 30 * 86400
RECENT_BATCHES = 3  # the newest batches read with a position: what the reader just saw

Batch = list[tuple[int, str]]  # (article id, the recall sources that found it)


@dataclass
class Position:
    """Where a request timestamp falls in the history."""

    latest: int  # newest recorded batch, 0 if none
    at: int  # newest batch recorded at or before the request, 0 if none
    older: int  # the batch before ``at``, 0 if none
    batch: Batch = field(default_factory=list)  # the batch recorded at ``at``
    recent: set[int] = field(default_factory=set)  # articles of the newest RECENT_BATCHES
    newest: set[int] = field(default_factory=set)  # articles of the newest batch

    def is_fresh(self, time_stamp: int) -> bool:
        return time_stamp > self.latest


def queue_position(pipe: Any, uid: str, channel_id: int, time_stamp: int) -> None:
    """The newest batches and the two at or before ``time_stamp``, each as Redis sends them
    (member, score, member, ...: :func:`scored` pairs them)."""
    key = keys.history(uid, channel_id)
    pipe.execute_command("ZREVRANGE", key, 0, RECENT_BATCHES - 1, "WITHSCORES")
    pipe.execute_command("ZREVRANGEBYSCORE", key, time_stamp, "-inf", "WITHSCORES", "LIMIT", 0, 2)


def scored(raw: list[Any]) -> list[Any]:
    """A sorted-set read with its scores, as Redis sent it, as (member, score) pairs: RESP3
    sends pairs with the scores already numbers (taken as they are: the client's own reply
    callback took several Python calls per score, and a fresh feed batch reads about 30),
    RESP2 one flat list of strings (paired here)."""
    if not raw or isinstance(raw[0], list):
        return raw
    pairs = iter(raw)
    return [(member, float(score)) for member, score in zip(pairs, pairs, strict=False)]


def _decode(member: str) -> Batch:
    """A history member (the project's Redis clients decode responses to str)."""
    try:
        return [(int(aid), str(sources)) for aid, sources in orjson.loads(member.partition("|")[2])]
    except (ValueError, TypeError):
        return []  # not a batch (written by an older layout): nothing to replay


def parse_position(latest: list[Any], around: list[Any]) -> Position:
    stamps = [int(score) for _, score in around]
    batches = {member: _decode(member) for member, _ in latest}  # each decoded once
    at = around[0][0] if around else None
    return Position(
        latest=int(latest[0][1]) if latest else 0,
        at=stamps[0] if stamps else 0,
        older=stamps[1] if len(stamps) > 1 else 0,
        batch=(batches.get(at) or _decode(at)) if at is not None else [],
        recent={aid for batch in batches.values() for aid, _ in batch},
        newest={aid for aid, _ in batches[latest[0][0]]} if latest else set(),
    )


def member(time_stamp: int, batch: Batch) -> str:
    """A batch as a history member (recorded with ``waiting.queue_served``)."""
    return f"{time_stamp}|{orjson.dumps(batch).decode()}"
