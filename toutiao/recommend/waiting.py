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
  a copy read under another version is stale and reloaded. The copy is bounded
  (``recall.FILTER_ROWS`` rows of each kind): ``complete`` when the reader has fewer, else a
  recent part only. For such a reader completeness comes from the queue: what the
  recommender queues was checked against the database (``recall.excluded``: the candidates'
  own rows, never the history) under a version, written into the queue as its **checked**
  tag, and the API serves the queue of an incomplete reader only while that tag is the
  current version (else the recommender checks it again).

Who serves from the queue: the API itself (``serving.py``: no gRPC call, no SQL) while at
least a batch's worth passes its checks; the recommender when the API finds too little
queued. After serving, an API that leaves fewer than ``REFILL_BELOW`` batches queued, or
finds the queue's front ranked more than ``MAX_AGE`` ago, pushes a refill request
(``keys.REFILL``, a bounded list) in the same pipeline, and every recommender process pops
those requests and tops the queue up to ``REFILL_BATCHES`` (or ranks a stale one again as a
whole; ``refill.py``), so a steady reader finds the queue full and the recommender is called
inline only for a new reader or a cold channel. When a ranking queues every article there
is for the reader (or had to bring back articles shown before), the queue is a **ring**:
served articles go back to its tail instead of leaving, so later pulls need no refill at all.

The reference system kept the same kind of queue (``reco:{user}:{channel}:art``, pre-ranked
candidates moved in from offline recall).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from toutiao.recommend import history, keys
from toutiao.recommend.rank import SOURCE_WEIGHTS

WAIT_BATCHES = 4
WAIT_TTL = 600
EXCLUSIONS_TTL = 600
PARTIAL_KEEP = 256  # ids of each kind kept in a partial exclusions copy (see queue_exclusions)
REFILL_BELOW = 3  # batches: fewer left after serving asks for a refill (two pulls of slack)
# Batches: what a refill tops the queue up to. Most of a refill's cost is its recall, reads
# and round trips, the same for 8 batches as for 32 (bench: the recommender's CPU per
# anonymous fresh batch fell from 0.83 to 0.31 ms going from 8 to 16; in-process, a refill of
# 32 costs about 1.2 times one of 16). The price is a queue ranked ahead of its reader, so a
# new article could wait behind it: MAX_AGE bounds that in time, whatever the pace of reading.
REFILL_BATCHES = 32
REFILL_MOST = 800  # articles: a refill for a large page size (up to 50) ranks no more
# Seconds: a queue whose front was ranked longer ago, when an article was published in its
# channel since, is ranked again as a whole (a refill that replaces it), so the new article
# reaches the reader within about this long of reading, not after a queue's worth of pulls.
# With nothing new the queue stays and only its ranked time moves (no ranking is wasted).
MAX_AGE = 120.0
REFILL_MAX = 10_000  # pending refill requests kept (the oldest are dropped)
SHOWN_CAP = 600  # ~60 batches; bounds the heaviest readers to ~50 KB
SHOWN_TTL = 7 * 86400

Pairs = list[tuple[int, str]]  # (article id, the recall sources that found it)


# The queue is a zset of article ids (so one can be removed by id) scored by
# rank x 64 + the recall sources that found it as bits (exact in a double).
SOURCES = tuple(sorted(SOURCE_WEIGHTS))
_SLOTS = 64
assert len(SOURCES) < 7


def _bits(label: str) -> int:
    bits = _BITS.get(label)  # a label written by _label: every one the queue gives back
    if bits is None:
        found = set(label.split("+"))
        bits = sum(1 << i for i, source in enumerate(SOURCES) if source in found)
    return bits


def _label(bits: int) -> str:
    return "+".join(source for i, source in enumerate(SOURCES) if bits >> i & 1)


_LABELS = tuple(_label(bits) for bits in range(_SLOTS))  # read per queued article served
_BITS = {_LABELS[bits]: bits for bits in range(1 << len(SOURCES))}  # written per article served


# The checked tag: the member ``v<exclusions version>`` at this score (before every rank).
CHECKED_SCORE = -1
# The ranked tag: the member ``t<ms>`` at this score, when the queue's front was ranked (a
# replacing write sets it, an append keeps it; see MAX_AGE).
RANKED_SCORE = -2
# The ring tag: the member ``r`` at this score, on a queue that holds every article there is
# for its reader (or whose reader read the channel through: the ranking brought back articles
# shown before). A batch served from a ring goes back to its tail instead of leaving, so the
# reader cycles through the channel with no refill (each would rank the same articles
# again); a new article still comes in within MAX_AGE (the queue is ranked again).
RING_SCORE = -3
TAGS = 3  # members before every article: the ring tag, the ranked tag, the checked tag
# Both scripts leave out an article the reader was shown after the ranking began (its time in
# the shown set, ms, past ARGV[3]): served meanwhile by another request, typically the local
# recall standing in for a recommender call that missed the feed's deadline and still queues
# what it ranked. An article shown before (a deliberate re-show of a used-up channel) stays.
# One ZMSCORE for all of them and one ZADD, not a command per article: a refill writes about
# 150, and the commands a script runs are Redis's own CPU. (Lua's unpack takes up to 8,000
# values; a write holds at most REFILL_MOST articles, or WAIT_BATCHES batches of 50, the
# largest batch either the API or the recommender's gRPC service serves: 1,600 values.)
_UNSHOWN = """
local function unshown()
  local members = {}
  for i = 6, #ARGV, 2 do members[#members + 1] = ARGV[i] end
  local keep = {}
  if #members == 0 then return keep end
  local at = redis.call('ZMSCORE', KEYS[2], unpack(members))
  local ranked = tonumber(ARGV[3])
  for j = 1, #members do
    if not at[j] or tonumber(at[j]) <= ranked then
      keep[#keep + 1] = ARGV[2 * j + 3]
      keep[#keep + 1] = members[j]
    end
  end
  return keep
end
"""
# KEYS[1] the queue, KEYS[2] the reader's shown set; ARGV[1] the checked tag seen when the
# queue was read ('' none), ARGV[2] the TTL, ARGV[3] the ranking's time, ARGV[4] '1' when the
# queue becomes a ring (only a replacing write makes one), ARGV[5..] score, member pairs.
# Appends (members already there keep their place) only if the tag is still the one seen:
# articles checked under an older version never join a queue that a newer check replaced
# meanwhile. The ranked tag is kept (set only on a queue without one).
_APPEND = (
    _UNSHOWN
    + """
local tag = redis.call('ZRANGEBYSCORE', KEYS[1], -1, -1)[1] or ''
if tag ~= ARGV[1] then return 0 end
local keep = unshown()
if #keep > 0 then
  redis.call('ZADD', KEYS[1], 'NX', unpack(keep))
  local ranked = tonumber(ARGV[3])
  if ranked < 1e300 and not redis.call('ZRANGEBYSCORE', KEYS[1], -2, -2)[1] then
    redis.call('ZADD', KEYS[1], -2, 't' .. ARGV[3])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
)
# KEYS and ARGV as for _APPEND, ARGV[1] the checked tag to write ('' none): the queue
# replaced by the pairs, ranked at ARGV[3] (no ranked tag for a queue written by hand).
_REPLACE = (
    _UNSHOWN
    + """
redis.call('DEL', KEYS[1])
local keep = unshown()
if #keep > 0 then
  redis.call('ZADD', KEYS[1], unpack(keep))
  if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], -1, ARGV[1]) end
  if ARGV[4] == '1' then redis.call('ZADD', KEYS[1], -3, 'r') end
  if tonumber(ARGV[3]) < 1e300 then redis.call('ZADD', KEYS[1], -2, 't' .. ARGV[3]) end
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return #keep / 2
"""
)
ANY_TIME = 1e300  # a queue written by hand: nothing was shown after it
# KEYS[1] the queue; ARGV[1] the ranked tag's new member: moved, on a queue that exists.
_RETAG = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], -2, -2)
redis.call('ZADD', KEYS[1], -2, ARGV[1])
return 1
"""


def queue_read_waiting(pipe: Any, uid: str, channel_id: int, head: int = -1) -> None:
    """The queue with its tags (scored before every rank, so they come first). With a
    ``head``: only the tags and the first ``head`` articles (at least), then the number of
    members (articles and tags) as a second result."""
    key = keys.waiting(uid, channel_id)
    # as Redis sends it (member, score, ...): ``history.scored`` pairs it
    pipe.execute_command("ZRANGE", key, 0, head + TAGS - 1 if head >= 0 else -1, "WITHSCORES")
    if head >= 0:
        pipe.zcard(key)


def parse_waiting(raw: list[Any]) -> Pairs:
    """The queue, best first, from :func:`queue_read_waiting`'s result."""
    pairs: Pairs = []
    for member, score in raw:
        if member.isdigit():
            pairs.append((int(member), _LABELS[int(score) % _SLOTS]))
    return pairs


def parse_checked(raw: list[Any]) -> str | None:
    """The exclusions version the queue's articles were checked under (None: no tag)."""
    for member, score in raw:
        if member.startswith("v") and score == CHECKED_SCORE:
            return str(member[1:])
    return None


def parse_ring(raw: list[Any]) -> bool:
    """Whether the queue is a ring (see RING_SCORE)."""
    return any(score == RING_SCORE for _, score in raw)


def parse_ranked_at(raw: list[Any]) -> float | None:
    """When the queue's front was ranked (ms), from its ranked tag (None: no tag)."""
    for member, score in raw:
        if score == RANKED_SCORE and member.startswith("t"):
            try:
                return float(member[1:])
            except ValueError:
                return None
    return None


def tags_in(raw: list[Any]) -> int:
    """How many of a queue read's members are tags, not articles."""
    return sum(1 for _, score in raw if score < 0)


def is_stale(ranked_at_ms: float | None, now_ms: float) -> bool:
    """Whether a queue's front was ranked more than ``MAX_AGE`` ago (not known: no)."""
    return ranked_at_ms is not None and now_ms - ranked_at_ms > MAX_AGE * 1000


def refill_target(count: int) -> int:
    """How many articles a refill tops a queue of ``count``-article batches up to."""
    return min(count * REFILL_BATCHES, max(REFILL_MOST, count * WAIT_BATCHES))


def _tag(checked: str) -> str:
    return f"v{checked}"


def queue_waiting(
    pipe: Any,
    uid: str,
    channel_id: int,
    pairs: Pairs,
    checked: str | None = None,
    *,
    ranked_at_ms: float = ANY_TIME,
    ring: bool = False,
) -> None:
    """Replace the user's queue for the channel with ``pairs`` (empty: drop it), less what
    the reader was shown after ``ranked_at_ms``; ``checked``: the exclusions version they were
    checked under (a registered reader's); ``ring``: the queue is a ring (see RING_SCORE)."""
    _write(pipe, _REPLACE, uid, channel_id, checked, 0, pairs, ranked_at_ms, ring)


def queue_append(
    pipe: Any,
    uid: str,
    channel_id: int,
    pairs: Pairs,
    after: int,
    seen: str | None = None,
    *,
    ranked_at_ms: float = ANY_TIME,
) -> None:
    """Add ``pairs`` behind what waits (``after``: the number of queue slots in use; a
    member already there keeps its place), less what the reader was shown after
    ``ranked_at_ms``, unless the queue's checked tag is no longer ``seen`` (the one read with
    the queue): then nothing is added."""
    if pairs:
        _write(pipe, _APPEND, uid, channel_id, seen, after + 1, pairs, ranked_at_ms, False)


def _write(
    pipe: Any,
    script: str,
    uid: str,
    channel_id: int,
    checked: str | None,
    first_rank: int,
    pairs: Pairs,
    ranked_at_ms: float,
    ring: bool,
) -> None:
    """One of the queue's write scripts, ``pairs`` ranked from ``first_rank`` on."""
    args: list[Any] = []
    for rank, (a, label) in enumerate(pairs, first_rank):
        args += [rank * _SLOTS + _bits(label), str(a)]
    pipe.eval(
        script,
        2,
        keys.waiting(uid, channel_id),
        keys.shown(uid),
        "" if checked is None else _tag(checked),
        WAIT_TTL,
        repr(float(ranked_at_ms)),
        "1" if ring else "0",
        *args,
    )


def queue_ranked_now(pipe: Any, uid: str, channel_id: int, now_ms: float) -> None:
    """Move the queue's ranked time to ``now_ms``: checked, nothing newer to rank in."""
    pipe.eval(_RETAG, 1, keys.waiting(uid, channel_id), f"t{float(now_ms)!r}")


def last_rank(raw: list[Any]) -> int:
    """The highest rank in a queue read by :func:`queue_read_waiting` (-1 when empty)."""
    return max((int(score) // _SLOTS for _, score in raw), default=-1)


def elsewhere(channel_id: int, channel_of: Mapping[int, int]) -> dict[int, list[int]]:
    """An article waits in at most two of a user's queues (its channel's and channel 0's):
    served from one (``channel_of``: article -> its channel), it leaves the other. The other
    queues, each with its articles."""
    if channel_id:
        return {0: list(channel_of)}
    by_channel: dict[int, list[int]] = {}
    for aid, cid in channel_of.items():
        by_channel.setdefault(cid, []).append(aid)
    return by_channel


# One served batch, recorded by one command on the reader's keys (they share a hash tag).
# KEYS[1] the history, KEYS[2] shown, KEYS[3..] queues to take articles out of. ARGV[1] the
# request time stamp, ARGV[2] the history member, ARGV[3] batches kept, ARGV[4] the history
# TTL, ARGV[5] the shown time (ms), ARGV[6] shown articles kept, ARGV[7] the shown TTL, ARGV[8]
# n, ARGV[9 .. 8 + n] the batch's articles, then for each queue: m, then its m articles; then
# c and the TTL of a ring (c = 0: none), then c (label bits, article) pairs that go back to
# the tail of the ring, the last key (after the removals, so the served ones move there).
_SERVED = """
local a = ARGV
redis.call('ZADD', KEYS[1], a[1], a[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(a[3]) - 1)
redis.call('EXPIRE', KEYS[1], a[4])
local n = tonumber(a[8])
if n > 0 then
  local scored = {}
  for i = 9, 8 + n do
    scored[#scored + 1] = a[5]
    scored[#scored + 1] = a[i]
  end
  redis.call('ZADD', KEYS[2], unpack(scored))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(a[6]) - 1)
  redis.call('EXPIRE', KEYS[2], a[7])
end
local at = 9 + n
for k = 3, #KEYS do
  local m = tonumber(a[at])
  if m > 0 then redis.call('ZREM', KEYS[k], unpack(a, at + 1, at + m)) end
  at = at + 1 + m
end
local c = tonumber(a[at] or 0)
if c > 0 then
  local ring = KEYS[#KEYS]
  local last = redis.call('ZRANGE', ring, -1, -1, 'WITHSCORES')[2]
  if last then
    local rank = math.floor(tonumber(last) / 64) + 1
    local scored = {}
    for i = 0, c - 1 do
      scored[#scored + 1] = (rank + i) * 64 + tonumber(a[at + 2 + 2 * i])
      scored[#scored + 1] = a[at + 3 + 2 * i]
    end
    redis.call('ZADD', ring, unpack(scored))
    redis.call('EXPIRE', ring, a[at + 1])
  end
end
return n
"""


def queue_served(
    pipe: Any,
    uid: str,
    channel_id: int,
    time_stamp: int,
    batch: Pairs,
    *,
    now_ms: float,
    unqueue: Mapping[int, Iterable[int]],
    ring: bool = False,
) -> None:
    """Record a served batch in the reader's history of ``channel_id``, mark its articles
    shown at ``now_ms`` and take articles out of the reader's queues (``unqueue``: queue
    channel -> articles): one command, however many queues. ``ring``: the channel's queue is
    a ring (see RING_SCORE), the batch goes back to its tail."""
    shown = [str(aid) for aid, _ in batch]
    queues: list[str] = []
    removals: list[Any] = []
    last = [channel_id] if ring else []  # the ring's key comes last
    for cid in [*(c for c in unqueue if not ring or c != channel_id), *last]:
        members = [str(a) for a in unqueue.get(cid, ())]
        if members or cid in last:
            queues.append(keys.waiting(uid, cid))
            removals += [len(members), *members]
    cycled: list[Any] = [0]
    if ring and batch:
        cycled = [len(batch), WAIT_TTL]
        for aid, label in batch:
            cycled += [_bits(label), str(aid)]
    pipe.eval(
        _SERVED,
        2 + len(queues),
        keys.history(uid, channel_id),
        keys.shown(uid),
        *queues,
        time_stamp,
        history.member(time_stamp, batch),
        history.MAX_BATCHES,
        history.HISTORY_TTL,
        repr(float(now_ms)),
        SHOWN_CAP,
        SHOWN_TTL,
        len(shown),
        *shown,
        *removals,
        *cycled,
    )


@dataclass(frozen=True)
class RefillRequest:
    uid: str
    channel_id: int
    count: int


def queue_refill_request(pipe: Any, request: RefillRequest) -> None:
    pipe.lpush(keys.REFILL, f"{request.channel_id} {request.count} {request.uid}")  # newest left
    pipe.ltrim(keys.REFILL, 0, REFILL_MAX - 1)


def parse_refill_request(raw: str) -> RefillRequest | None:
    channel, _, rest = raw.partition(" ")
    count, _, uid = rest.partition(" ")
    if not (channel.isdigit() and count.isdigit() and uid):
        return None
    return RefillRequest(uid, int(channel), min(max(int(count), 1), 50))


@dataclass
class Exclusions:
    disliked: set[int]
    blocked: set[int]  # authors blocked by the user or blocking the user
    version: str  # the version they were read under
    loaded: bool = False  # read from the database by this request: cache them
    # every one of the user's dislikes and blacklists; else a recent part, and what is served
    # must have been checked by ``recall.excluded`` under ``version``
    complete: bool = True

    def allows(self, article_id: int, author_id: int) -> bool:
        """Not excluded by what is known here (all there is when ``complete``)."""
        return article_id not in self.disliked and author_id not in self.blocked


def version_text(raw: str | None) -> str:
    return raw or ""


def parse_exclusions(raw: Any, version: str) -> Exclusions | None:
    """The cached copy, or None when there is none or it was read under another version."""
    if not raw:
        return None
    try:
        data = orjson.loads(raw)  # by the recommender; once per API worker and version
        if data.get("v") != version:
            return None
        disliked, blocked = set(map(int, data["a"])), set(map(int, data["u"]))
        return Exclusions(disliked, blocked, version, complete=data.get("c") == 1)
    except (ValueError, TypeError, KeyError, AttributeError):  # not the object written
        return None


def queue_exclusions(pipe: Any, uid: str, found: Exclusions) -> None:
    """Cache the exclusions under their version. A partial copy (a reader past the row
    limits) is cut to its newest ``PARTIAL_KEEP`` dislikes and ``PARTIAL_KEEP`` authors:
    what such a reader is served was checked against the database under the version anyway,
    so the copy only spares candidates that check, and each API worker reads and keeps it."""
    disliked, blocked = sorted(found.disliked), sorted(found.blocked)
    if not found.complete:
        disliked, blocked = disliked[-PARTIAL_KEEP:], blocked[:PARTIAL_KEEP]
    body = {"v": found.version, "a": disliked, "u": blocked, "c": 1 if found.complete else 0}
    pipe.set(keys.exclusions(uid), orjson.dumps(body), ex=EXCLUSIONS_TTL)


async def shown_lately(redis: Any, uid: str) -> list[int]:
    """The articles this reader was shown lately (at most ``SHOWN_CAP``), newest first."""
    return [int(a) for a in await redis.zrevrange(keys.shown(uid), 0, SHOWN_CAP - 1)]
