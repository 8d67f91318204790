"""The recommender's Redis keys (all in the storage Redis; none is a cache that may be evicted).

| key | type | content |
|---|---|---|
| ``reco:events`` | stream | behaviour events (``events.py``), capped at ~1M entries |
| ``reco:exposures`` | stream | the feed's exposure events (which batch a reader was shown), capped the same; never folded |
| ``reco:events:folded`` | string | id of the last event folded into profiles and hot lists |
| ``reco:user:{<uid>}:interest`` | zset | ``c:{channel_id}`` / ``k:{keyword}`` -> decayed weight |
| ``reco:user:{<uid>}:pos`` | zset | articles the user clicked/liked/collected/shared -> time (s) |
| ``reco:user:{<uid>}:shown`` | zset | articles shown in fresh batches -> time (ms), 600, 7 days |
| ``reco:user:{<uid>}:{cid}:his`` | zset | ``"{ts}|[[article_id, sources], ...]"`` -> ts (ms); 30, 30 days |
| ``reco:user:{<uid>}:boot`` | string | marker: interest bootstrapped from the database lately |
| ``reco:user:{<uid>}:{cid}:wait`` | zset | article -> rank x 64 + recall-source bits, waiting to be served, 10 min; ``t{ms}`` -> -2: when its front was ranked; ``r`` -> -3 on a ring (it holds every article there is for the reader: served articles go back to its tail); a registered reader's also ``v{version}`` -> -1: the exclusions version it was checked under |
| ``reco:refill`` | list | ``"{cid} {count} {uid}"``: queues the API found running low or ranked long ago (``waiting.py``) |
| ``reco:user:{<uid>}:excl`` | string | JSON cache of the user's dislikes and blocked authors (at most ``recall.FILTER_ROWS`` of each kind, ``c``: all of them), 10 min |
| ``reco:user:{<uid>}:excl:v`` | string | bumped by the API when those change (``events.exclusions_changed``) |
| ``reco:catalog:v`` | string | bumped when an approved article stops being servable |
| ``reco:hot`` / ``reco:ch:{cid}:hot`` | zset | article -> time-decayed popularity |
| ``{key}:at`` | string | when the zset ``key`` was last decayed (epoch s); an interest profile's is the reader's (same tag) |
| ``reco:sim:{aid}`` | zset | similar article -> cosine similarity |
| ``reco:idx:post:{term}`` | zset | article -> TF-IDF weight of the term (strongest only) |
| ``reco:idx:kw:{term}`` | zset | article having the term among its keywords -> pubdate (s) |
| ``reco:idx:artkw`` | hash | article -> its keywords, space separated ("" = indexed, none) |
| ``reco:idx:df`` | hash | term -> document frequency |
| ``reco:idx:meta`` | hash | ``docs``, ``watermark`` (pubdate and id of the last article indexed) |
| ``reco:lock:{name}`` | string | scheduler leader lock token (``kit.lease.LeaderLock``), other one-process-at-a-time jobs' locks |
| ``reco:migrated:reader-tags`` | string | marker: every reader key was moved to its tagged name (``rekey.py``) |

``<uid>`` is the user id or anonymous device id as given when it is short and plain, else a
hash of it (:func:`user_part`), so a client-chosen id cannot make keys unbounded. The braces
around it are a Redis Cluster hash tag: every key of one reader is in one slot, so a refill's
or a feed request's commands on them reach one node (the part of a key name between ``{`` and
``}`` is what is hashed; :func:`user_part` never contains a brace). Before these tags the
names were ``reco:user:<uid>:...``; ``rekey.py`` moves keys from those names.

Read-only here: ``ch:{cid}:art:top`` (pinned articles) and the ``count:art:*`` counters.
"""

from __future__ import annotations

import hashlib
import re

EVENTS = "reco:events"
EXPOSURES = "reco:exposures"
CATALOG = "reco:catalog:v"
EVENTS_FOLDED = "reco:events:folded"
HOT = "reco:hot"
ART_KEYWORDS = "reco:idx:artkw"
ART_TERMS = "reco:idx:artterms"  # article -> its vector's terms, to take it out of postings
DF = "reco:idx:df"
INDEX_META = "reco:idx:meta"
REFILL = "reco:refill"
READER_TAGS_MIGRATED = "reco:migrated:reader-tags"

_SAFE_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")  # never a brace: it becomes a hash tag


def user_part(user_id: str) -> str:
    """A bounded key segment for a user or device id (client-supplied for anonymous users)."""
    if _SAFE_ID.fullmatch(user_id):
        return user_id
    return "h:" + hashlib.sha1(user_id.encode("utf-8", "surrogatepass")).hexdigest()


def registered_user(uid: str) -> int | None:
    """The user id when ``uid`` names a registered user (anonymous ids are ``anon:...``)."""
    if uid.isascii() and uid.isdigit() and len(uid) <= 19 and int(uid) < 2**63:
        return int(uid)
    return None


USER_PREFIX = "reco:user:"


def _reader(uid: str) -> str:
    """The common start of a reader's keys: their hash tag (one cluster slot per reader)."""
    return f"{USER_PREFIX}{{{user_part(uid)}}}"


def is_reader_key(key: str) -> bool:
    return key.startswith(USER_PREFIX)


def interest(uid: str) -> str:
    return f"{_reader(uid)}:interest"


def positives(uid: str) -> str:
    return f"{_reader(uid)}:pos"


def shown(uid: str) -> str:
    return f"{_reader(uid)}:shown"


def history(uid: str, channel_id: int) -> str:
    return f"{_reader(uid)}:{channel_id}:his"


def waiting(uid: str, channel_id: int) -> str:
    return f"{_reader(uid)}:{channel_id}:wait"


def exclusions(uid: str) -> str:
    return f"{_reader(uid)}:excl"


def exclusions_version(uid: str) -> str:
    return f"{_reader(uid)}:excl:v"


def bootstrapped(uid: str) -> str:
    return f"{_reader(uid)}:boot"


def channel_hot(channel_id: int) -> str:
    return f"reco:ch:{channel_id}:hot"


def hot(channel_id: int) -> str:
    """The popularity zset of a channel; channel 0 (recommended) is the global one."""
    return channel_hot(channel_id) if channel_id else HOT


def decayed_at(key: str) -> str:
    return f"{key}:at"


def similar(article_id: int) -> str:
    return f"reco:sim:{article_id}"


def posting(term: str) -> str:
    return f"reco:idx:post:{term}"


def keyword(term: str) -> str:
    return f"reco:idx:kw:{term}"


def lock(name: str) -> str:
    return f"reco:lock:{name}"


def pinned(channel_id: int) -> str:
    return f"ch:{channel_id}:art:top"
