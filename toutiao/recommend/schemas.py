"""The recommender's answers, shared by the engine, the gRPC server and its client."""

from __future__ import annotations

from typing import NamedTuple

TRACK_ACTIONS = ("click", "collect", "share", "read")


class RecoItem(NamedTuple):
    article_id: int
    track: dict[str, str]  # click / collect / share / read: opaque strings the client echoes


class RecoBatch(NamedTuple):
    exposure: str  # empty for a history replay
    time_stamp: int  # cursor of the previous (older) batch, 0 when there is none
    items: list[RecoItem]
