"""The recommender's answers and track strings, shared by the engine, the gRPC server and
its client, and the API when it serves a queued batch itself."""

from __future__ import annotations

import functools
import json
from typing import NamedTuple

import orjson

TRACK_ACTIONS = ("click", "collect", "share", "read")
ALGORITHM = "reco-v1"


class RecoItem(NamedTuple):
    article_id: int
    track: dict[str, str]  # click / collect / share / read: opaque strings the client echoes


class RecoBatch(NamedTuple):
    exposure: str  # empty for a history replay
    time_stamp: int  # cursor of the previous (older) batch, 0 when there is none
    items: list[RecoItem]


def _json(value: dict[str, str]) -> str:
    """Compact JSON, non-ASCII kept (as ``json.dumps`` with ``ensure_ascii=False`` and no
    spaces writes it; orjson writes the same, faster)."""
    return orjson.dumps(value).decode()


def tracks(uid: str, article_id: int, sources: str, channel_id: int) -> dict[str, str]:
    """The four track strings: the same JSON as ``_json`` would write, assembled from one
    encoding of the variable parts (40 per batch). ``channelId`` is the feed the item was
    served in, so a read reported with the token is attributed to its source (recommendation
    for channel 0, channel otherwise)."""
    tail = _json(
        {
            "userId": uid,
            "articleId": str(article_id),
            "channelId": str(channel_id),
            "algorithmCombine": sources,
        }
    )
    return {action: f'{{"action":"{action}",{tail[1:]}' for action in TRACK_ACTIONS}


# The trace object as JSON, each track string written escaped: ``"click":"{\"action\":
# \"click\",`` and then the members the four share (%s).
_TRACE = (
    b"{"
    + b",".join(
        b'"%s":"{\\"action\\":\\"%s\\",%%s' % (a.encode(), a.encode()) for a in TRACK_ACTIONS
    )
    + b"}"
)


def _escaped(value: str) -> bytes:
    """``value`` as JSON, escaped again as a part of a JSON string."""
    return orjson.dumps(orjson.dumps(value).decode())[1:-1]


_SHARED = (
    b'\\"userId\\":%s,\\"articleId\\":\\"%d\\",\\"channelId\\":\\"%d\\",\\"algorithmCombine\\":%s}"'
)


@functools.lru_cache(maxsize=256)
def _escaped_sources(sources: str) -> bytes:
    return _escaped(sources)


class TraceWriter:
    """The trace objects of one page (one reader, one channel) as JSON: the bytes
    ``orjson.dumps(tracks(...))`` writes, from one formatting per item instead of four
    strings, a dict and its encoding."""

    def __init__(self, uid: str, channel_id: int) -> None:
        self._user = _escaped(uid)
        self._channel = int(channel_id)

    def json(self, article_id: int, sources: str) -> bytes:
        shared = _SHARED % (self._user, article_id, self._channel, _escaped_sources(sources))
        return _TRACE % (shared, shared, shared, shared)


def sources_of(track: dict[str, str]) -> str:
    """The recall sources a track string was made with (inverse of :func:`tracks`)."""
    try:
        return str(json.loads(track.get("click", ""))["algorithmCombine"])
    except (ValueError, KeyError, TypeError):
        return ""


def exposure(uid: str, article_ids: list[int]) -> str:
    ids = "[" + ",".join(map(str, article_ids)) + "]"
    return _json(
        {"action": "exposure", "userId": uid, "articleId": ids, "algorithmCombine": ALGORITHM}
    )
