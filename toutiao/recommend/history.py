"""Feed history per (user, channel): the batches served, keyed by the request timestamp, so
scrolling back replays exactly what was shown (app.md E33 [Recommended]).

``reco:user:{uid}:{cid}:his`` is a zset of batch timestamps (member and score are the same
millisecond value, exact in a double), ``...:batches`` a hash from timestamp to the batch.
Only the newest ``MAX_BATCHES`` are kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toutiao.recommend import keys

MAX_BATCHES = 30
HISTORY_TTL = 30 * 86400

Batch = list[tuple[int, str]]  # (article id, the recall sources that found it)


@dataclass
class Position:
    """Where a request timestamp falls in the history."""

    latest: int  # newest recorded batch, 0 if none
    at: int  # newest batch recorded at or before the request, 0 if none
    older: int  # the batch before ``at``, 0 if none

    def is_fresh(self, time_stamp: int) -> bool:
        return time_stamp > self.latest


def queue_position(pipe: Any, uid: str, channel_id: int, time_stamp: int) -> None:
    key = keys.history(uid, channel_id)
    pipe.zrevrange(key, 0, 0, withscores=True)
    pipe.zrevrangebyscore(key, time_stamp, "-inf", start=0, num=2, withscores=True)


def parse_position(latest: list[Any], around: list[Any]) -> Position:
    stamps = [int(score) for _, score in around]
    return Position(
        latest=int(latest[0][1]) if latest else 0,
        at=stamps[0] if stamps else 0,
        older=stamps[1] if len(stamps) > 1 else 0,
    )


async def load_batch(redis: Any, uid: str, channel_id: int, time_stamp: int) -> Batch:
    raw = await redis.hget(keys.batches(uid, channel_id), str(time_stamp))
    if not raw:
        return []
    return [(int(aid), str(sources)) for aid, sources in json.loads(raw)]


async def record_batch(
    redis: Any,
    uid: str,
    channel_id: int,
    time_stamp: int,
    batch: Batch,
    *,
    extra: Callable[[Any], None] | None = None,
) -> None:
    """Record a batch; ``extra`` queues more commands on the same pipeline."""
    his, contents = keys.history(uid, channel_id), keys.batches(uid, channel_id)
    async with redis.pipeline(transaction=False) as pipe:
        if extra is not None:
            extra(pipe)
        pipe.zadd(his, {str(time_stamp): time_stamp})
        pipe.hset(contents, str(time_stamp), json.dumps(batch, separators=(",", ":")))
        pipe.zrange(his, 0, -MAX_BATCHES - 1)
        pipe.expire(his, HISTORY_TTL)
        pipe.expire(contents, HISTORY_TTL)
        overflow = (await pipe.execute())[-3]
    if overflow:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zrem(his, *overflow)
            pipe.hdel(contents, *overflow)
            await pipe.execute()
