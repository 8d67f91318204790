"""The recommender's answers and track strings, shared by the engine, the gRPC server and
its client, and the API when it serves a queued batch itself."""

from __future__ import annotations

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


# A track string inside the trace object, as JSON: ``"{\"action\":\"<action>\",`` and then
# the escaped tail the actions share.
_TRACE_HEADS = tuple(
    (b'"%s":"{\\"action\\":\\"%s\\",' % (a.encode(), a.encode())) for a in TRACK_ACTIONS
)


def trace_json(uid: str, article_id: int, sources: str, channel_id: int) -> bytes:
    """The trace object of :func:`tracks`, as JSON: the bytes ``orjson.dumps(tracks(...))``
    writes, from two encodings instead of four strings, a dict and its encoding."""
    tail = _json(
        {
            "userId": uid,
            "articleId": str(article_id),
            "channelId": str(channel_id),
            "algorithmCombine": sources,
        }
    )
    rest = orjson.dumps(tail)[2:]  # the tail as a JSON string, less its quote and brace
    return b"{" + b",".join(head + rest for head in _TRACE_HEADS) + b"}"


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
