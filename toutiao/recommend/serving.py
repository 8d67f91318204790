"""A fresh batch straight from the reader's wait queue, in the API process.

The recommender ranks ahead (``waiting.py``, ``refill.py``); the API only reads:

1. with its first round trip it reads the reader's position in the feed history (the newest
   batches included), the wait queue and, for a registered reader, the exclusions' version
   and, unless the worker holds them parsed already, their cached copy (:func:`queue_read`);
2. it checks the head of the queue in memory against what the article cards say (approved,
   in the channel, by which author) and the pinned list, dislikes and blocked authors
   (:func:`choose`); the cards come from the worker's L1 (one MGET when it lacks some);
3. its second round trip records the batch (history, shown, the served and the unservable
   articles out of the queue, a refill request when the queue runs low or its front was
   ranked more than ``waiting.MAX_AGE`` ago) together with the cards' counters and the
   exposure event (:func:`queue_record`).

When fewer than a batch pass, or a registered reader's exclusions are not cached under the
current version, the caller asks the recommender (which reloads and caches them). So it does
when the cached exclusions are only a part of the reader's (more than ``recall.FILTER_ROWS``
of a kind) and the queue was not checked against the database under the current version
(``waiting.py``): the recommender checks it again, bounded by the queue.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from toutiao.recommend import history, keys, waiting
from toutiao.recommend.waiting import Exclusions, Pairs, RefillRequest

HEAD = 2  # batches' worth of the queue head whose cards are checked

# Registered readers' exclusions as parsed, by uid: a heavy reader's copy is up to a few
# thousand ids, and reading and parsing it on every request was the largest part of what such
# a reader's batch costs more than another's. An entry is used only under the version it was
# read under (round trip 1 reads the version every time) and lives no longer than the copy in
# Redis, so a version number restarting after its key expired cannot name an old entry.
L1_IDS = 200_000  # ids held, over all entries (a few MB per worker)
_ENTRY_COST = 16  # what an entry counts for besides its ids
_l1_exclusions: TTLCache[str, Exclusions] = TTLCache(
    maxsize=L1_IDS,
    ttl=waiting.EXCLUSIONS_TTL,
    getsizeof=lambda e: _ENTRY_COST + len(e.disliked) + len(e.blocked),
)

Facts = Mapping[int, tuple[int, int]]  # approved article -> (author id, channel id)


@dataclass(frozen=True)
class Reader:
    uid: str  # the recommender's user id: a user id or "anon:<device>"
    channel_id: int

    @property
    def registered(self) -> bool:
        return keys.registered_user(self.uid) is not None


@dataclass
class QueueState:
    position: history.Position
    waiting: Pairs = field(default_factory=list)  # the queue, or its head (see size)
    exclusions: Exclusions | None = None  # None: not cached under the current version
    checked: str | None = None  # the version the queue was checked under (its tag)
    version: str = ""  # the reader's current exclusions version
    size: int | None = None  # articles queued when ``waiting`` is only the head
    ranked_at: float | None = None  # when the queue's front was ranked (ms; None: unknown)
    ring: bool = False  # served articles go back to the tail (``waiting.RING_SCORE``)


@dataclass
class Served:
    batch: Pairs  # what is served, best first
    scanned: list[int]  # leaves the queue: served, or no longer servable to this reader
    left: int  # still queued afterwards
    ranked_at: float | None = None  # when the queue's front was ranked (ms; None: unknown)
    ring: bool = False  # the batch goes back to the queue's tail (``waiting.RING_SCORE``)


@dataclass(frozen=True)
class Reading:
    """What :func:`queue_read` queued, for :func:`parse_state`."""

    reader: Reader
    held: Exclusions | None  # the worker's parsed exclusions, when it had them: no copy read

    @property
    def commands(self) -> int:
        """Results added to the pipeline."""
        if not self.reader.registered:
            return 4
        return 6 if self.held is None else 5


def queue_read(pipe: Any, reader: Reader, time_stamp: int, count: int) -> Reading:
    """Round trip 1's share: the position, the queue's head (what :func:`choose` looks at)
    and its size, and for a registered reader the exclusions' version and, unless the
    worker holds them, their cached copy."""
    history.queue_position(pipe, reader.uid, reader.channel_id, time_stamp)
    waiting.queue_read_waiting(pipe, reader.uid, reader.channel_id, head=count * HEAD)
    if not reader.registered:
        return Reading(reader, None)
    pipe.get(keys.exclusions_version(reader.uid))
    held = _l1_exclusions.get(reader.uid)
    if held is None:
        pipe.get(keys.exclusions(reader.uid))
    return Reading(reader, held)


def parse_state(reading: Reading, results: list[Any]) -> QueueState:
    latest, around, queued = (history.scored(raw) for raw in results[:3])
    size = results[3]
    state = QueueState(history.parse_position(latest, around), waiting.parse_waiting(queued))
    state.checked = waiting.parse_checked(queued)
    state.ranked_at = waiting.parse_ranked_at(queued)
    state.ring = waiting.parse_ring(queued)
    state.size = int(size) - waiting.tags_in(queued)
    if not reading.reader.registered:
        state.exclusions = Exclusions(set(), set(), "")
        return state
    uid = reading.reader.uid
    state.version = waiting.version_text(results[4])
    if reading.held is not None:
        if reading.held.version == state.version:
            state.exclusions = reading.held
        else:  # changed since: the recommender reloads them, the next request reads the copy
            _l1_exclusions.pop(uid, None)
        return state
    state.exclusions = waiting.parse_exclusions(results[5], state.version)
    if state.exclusions is not None:
        _l1_exclusions[uid] = state.exclusions
    return state


def clear_l1() -> None:
    _l1_exclusions.clear()


def head(state: QueueState, count: int) -> list[int]:
    """The queued articles whose cards :func:`choose` needs."""
    return [aid for aid, _ in state.waiting[: count * HEAD]]


def choose(
    state: QueueState,
    reader: Reader,
    count: int,
    *,
    pinned: Collection[int],
    facts: Facts,
    visible: Collection[int],
    partial: bool = False,
) -> Served | None:
    """The next ``count`` servable queued articles, or None when fewer are queued (with
    ``partial``: as many as there are, looking at the whole queue) or the exclusions are
    unknown, or only a part and the queue was not checked under their version."""
    excl = state.exclusions
    if excl is None or not (excl.complete or state.checked == excl.version):
        return None
    disliked, blocked = excl.disliked, excl.blocked
    recent = state.position.recent
    batch: Pairs = []
    scanned: list[int] = []
    for aid, label in state.waiting if partial else state.waiting[: count * HEAD]:
        scanned.append(aid)
        fact = facts.get(aid)
        if fact is None or aid in pinned or aid in disliked or aid in recent:
            continue
        author, channel = fact
        in_channel = channel == reader.channel_id if reader.channel_id else channel in visible
        if author in blocked or not in_channel:
            continue
        batch.append((aid, label))
        if len(batch) == count:
            break
    if len(batch) < count and not (partial and batch):
        return None
    queued = len(state.waiting) if state.size is None else state.size
    left = queued - len(scanned) + (len(batch) if state.ring else 0)
    return Served(batch, scanned, left, state.ranked_at, state.ring)


def queue_record(
    pipe: Any,
    reader: Reader,
    time_stamp: int,
    served: Served,
    *,
    channel_of: Mapping[int, int],
    now_ms: float,
    count: int,
    refill: bool = True,
) -> None:
    """Record a batch served without the recommender (one pipeline with the caller's)."""
    uid, channel_id = reader.uid, reader.channel_id
    unqueue = waiting.elsewhere(
        channel_id, {aid: channel_of[aid] for aid, _ in served.batch if aid in channel_of}
    )
    unqueue[channel_id] = served.scanned
    waiting.queue_served(
        pipe,
        uid,
        channel_id,
        time_stamp,
        served.batch,
        now_ms=now_ms,
        unqueue=unqueue,
        ring=served.ring,
    )
    low = served.left < waiting.REFILL_BELOW * count
    if refill and (low or waiting.is_stale(served.ranked_at, now_ms)):
        waiting.queue_refill_request(pipe, RefillRequest(uid, channel_id, count))
