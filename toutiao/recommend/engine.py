"""The recommender: a user's feed batches (fresh or replayed) and similar articles.

A request costs three or four Redis round trips (state; recall; features; recording) and
one read session with four or five bounded, indexed queries. The Redis recall and the
database queries run concurrently.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.db import Database
from toutiao.recommend import history, keys, rank, recall
from toutiao.recommend.profile import Profile, bootstrap_profile, parse_profile
from toutiao.recommend.recall import Candidate, Pool
from toutiao.recommend.schemas import TRACK_ACTIONS, RecoBatch, RecoItem
from toutiao.recommend.similar import similar_ids

ALGORITHM = "reco-v1"
SHOWN_CAP = 2000
SHOWN_TTL = 7 * 86400
# With too few unseen candidates, articles shown at least this long ago may come back.
RESHOW_AFTER = 6 * 3600.0
PROFILE_READ = 100
SHORTLIST = 200  # candidates whose popularity and keywords are read for the final ranking
CHANNELS_TTL = 60.0
RECENT_TTL = 15.0


@dataclass
class _State:
    position: history.Position = field(default_factory=lambda: history.Position(0, 0, 0))
    profile: Profile = field(default_factory=Profile)
    pinned: set[int] = field(default_factory=set)
    needs_profile: bool = False


@dataclass
class _Request:
    uid: str  # "" for an anonymous reader without a device id
    user_id: int | None  # set when uid is a registered user's id
    channel_id: int
    count: int
    now: float


def _registered(uid: str) -> int | None:
    if uid.isascii() and uid.isdigit() and len(uid) <= 19 and int(uid) < 2**63:
        return int(uid)
    return None


def _json(value: dict[str, str]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def tracks(uid: str, article_id: int, sources: str) -> dict[str, str]:
    return {
        action: _json(
            {
                "action": action,
                "userId": uid,
                "articleId": str(article_id),
                "algorithmCombine": sources,
            }
        )
        for action in TRACK_ACTIONS
    }


def exposure(uid: str, article_ids: list[int]) -> str:
    ids = "[" + ",".join(map(str, article_ids)) + "]"
    return _json(
        {"action": "exposure", "userId": uid, "articleId": ids, "algorithmCombine": ALGORITHM}
    )


class Recommender:
    def __init__(
        self,
        db: Database,
        redis: Any,
        *,
        clock: Callable[[], float] = time.time,
        recent_ttl: float = RECENT_TTL,
    ):
        self.db = db
        self.redis = redis
        self.clock = clock
        self.recent_ttl = recent_ttl
        self._channels: tuple[float, list[int]] | None = None
        # channel -> (expiry, newest (article, channel) pairs): shared by every reader
        self._recent: dict[int, tuple[float, list[tuple[int, int]]]] = {}

    async def user_recommend(
        self, user_id: str, channel_id: int, article_num: int, time_stamp: int
    ) -> RecoBatch:
        uid = user_id.strip()
        req = _Request(uid, _registered(uid), channel_id, article_num, self.clock())
        state = await self._read_state(req, time_stamp)
        if uid and not state.position.is_fresh(time_stamp):
            return await self._replay(req, state.position)
        if state.needs_profile and req.user_id is not None:
            await bootstrap_profile(self.db, self.redis, uid, req.user_id)
            state.profile = await self._read_profile(uid)
        picked = await self._fresh(req, state)
        batch = [(c.article_id, c.label) for c in picked]
        if uid and batch:
            await self._remember(req, time_stamp, batch)
        return RecoBatch(
            exposure(uid, [a for a, _ in batch]) if batch else "",
            state.position.latest if uid else 0,
            [RecoItem(aid, tracks(uid, aid, label)) for aid, label in batch],
        )

    async def similar(self, article_id: int, n: int) -> list[int]:
        """Up to ``n`` approved articles most similar in content, best first."""
        found = [a for a in await similar_ids(self.redis, article_id, n * 3) if a != article_id]
        async with self.db.read_session() as session:
            approved = await recall.approved_meta(session, found)
        return [a for a in found if a in approved][:n]

    # -- state and history -----------------------------------------------------------------

    async def _read_state(self, req: _Request, time_stamp: int) -> _State:
        uid, state = req.uid, _State()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrange(keys.pinned(req.channel_id), 0, -1)
            if uid:
                history.queue_position(pipe, uid, req.channel_id, time_stamp)
                pipe.zrevrange(keys.interest(uid), 0, PROFILE_READ - 1, withscores=True)
                pipe.zrevrange(keys.positives(uid), 0, recall.SEEDS_N - 1)
                pipe.exists(keys.bootstrapped(uid))
            results = await pipe.execute()
        state.pinned = {int(a) for a in results[0]}
        if uid:
            latest, around, interest, positives, booted = results[1:]
            state.position = history.parse_position(latest, around)
            state.profile = parse_profile(interest, positives)
            state.needs_profile = not interest and not booted
        return state

    async def _read_profile(self, uid: str) -> Profile:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrange(keys.interest(uid), 0, PROFILE_READ - 1, withscores=True)
            pipe.zrevrange(keys.positives(uid), 0, recall.SEEDS_N - 1)
            interest, positives = await pipe.execute()
        return parse_profile(interest, positives)

    async def _replay(self, req: _Request, position: history.Position) -> RecoBatch:
        if not position.at:
            return RecoBatch("", 0, [])
        batch = await history.load_batch(self.redis, req.uid, req.channel_id, position.at)
        items = [RecoItem(aid, tracks(req.uid, aid, label)) for aid, label in batch]
        return RecoBatch("", position.older, items)

    async def _remember(self, req: _Request, time_stamp: int, batch: history.Batch) -> None:
        shown_key = keys.shown(req.uid)
        now_ms = req.now * 1000

        def mark_shown(pipe: Any) -> None:
            pipe.zadd(shown_key, {str(aid): now_ms for aid, _ in batch})
            pipe.zremrangebyrank(shown_key, 0, -SHOWN_CAP - 1)
            pipe.expire(shown_key, SHOWN_TTL)

        await history.record_batch(
            self.redis, req.uid, req.channel_id, time_stamp, batch, extra=mark_shown
        )

    # -- a fresh batch ---------------------------------------------------------------------

    async def _fresh(self, req: _Request, state: _State) -> list[Candidate]:
        cands = await self._candidates(req, state)
        if req.uid and cands:
            cands = await self._unseen(cands, req)
        cands = rank.shortlist(cands, SHORTLIST, state.profile, req.now)
        if not cands:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            recall.queue_features(pipe, [c.article_id for c in cands])
            recall.apply_features(cands, await pipe.execute())
        return rank.pick(
            cands, req.count, state.profile, req.now, mixed_channels=req.channel_id == 0
        )

    async def _candidates(self, req: _Request, state: _State) -> list[Candidate]:
        """Recalled, approved, in the channel, not pinned, not disliked, not blocked."""
        async with self.db.read_session() as session:
            (rows, disliked, blocked, visible), pool = await asyncio.gather(
                self._recall_db(session, req, state.profile),
                self._recall_redis(req, state.profile),
            )
            top = set(state.profile.top_channels(recall.INTEREST_CHANNELS))
            for aid, cid in rows:
                pool.add([aid], "interest" if req.channel_id == 0 and cid in top else "recent")
            wanted = [a for a in pool if a not in disliked and a not in state.pinned]
            meta = await recall.approved_meta(session, wanted)
        cands = []
        for aid, row in meta.items():
            in_channel = row.channel_id == req.channel_id or (
                req.channel_id == 0 and row.channel_id in visible
            )
            if in_channel and row.user_id not in blocked:
                cand = pool[aid]
                cand.author_id, cand.channel_id = row.user_id, row.channel_id
                cand.published = row.pubdate.timestamp() if row.pubdate else 0.0
                cands.append(cand)
        return cands

    async def _unseen(self, cands: list[Candidate], req: _Request) -> list[Candidate]:
        """Drop what this user was shown; if too little is left, bring back what was shown
        longest ago (and at least ``RESHOW_AFTER`` ago)."""
        members = [str(c.article_id) for c in cands]
        shown_ms = await self.redis.zmscore(keys.shown(req.uid), members)
        fresh = [c for c, when in zip(cands, shown_ms, strict=True) if when is None]
        if len(fresh) >= req.count:
            return fresh
        cutoff = (req.now - RESHOW_AFTER) * 1000
        stale = sorted(
            ((when, c) for c, when in zip(cands, shown_ms, strict=True) if when and when <= cutoff),
            key=lambda wc: wc[0],
        )
        return fresh + [c for _, c in stale[: req.count - len(fresh)]]

    async def _recall_redis(self, req: _Request, profile: Profile) -> Pool:
        pool = Pool()
        async with self.redis.pipeline(transaction=False) as pipe:
            layout = recall.queue_redis_sources(pipe, req.channel_id, profile)
            recall.add_redis_sources(pool, layout, await pipe.execute())
        return pool

    async def _recall_db(
        self, session: AsyncSession, req: _Request, profile: Profile
    ) -> tuple[list[tuple[int, int]], set[int], set[int], set[int]]:
        visible = await self._visible_channels(session)
        if req.channel_id:
            depth = {req.channel_id: recall.RECENT_PER_CHANNEL}
        else:
            each = max(recall.RECENT_ALL // max(len(visible), 1), 5)
            depth = dict.fromkeys(visible, each)
            for cid in profile.top_channels(recall.INTEREST_CHANNELS):
                if cid in depth:
                    depth[cid] = max(each, recall.INTEREST_PER_CHANNEL)
        rows = await self._recent_rows(session, depth)
        disliked: set[int] = set()
        blocked: set[int] = set()
        if req.user_id is not None:
            disliked, blocked = await recall.exclusions(session, req.user_id)
        return rows, disliked, blocked, set(visible)

    async def _recent_rows(
        self, session: AsyncSession, depth: dict[int, int]
    ) -> list[tuple[int, int]]:
        """Newest articles per channel, cached briefly in-process: the same for every reader,
        and the heaviest query of a request."""
        now = time.monotonic()
        missing = [cid for cid in depth if self._recent.get(cid, (0.0, []))[0] <= now]
        if missing:
            found: dict[int, list[tuple[int, int]]] = {cid: [] for cid in missing}
            rows = await recall.recent(session, dict.fromkeys(missing, recall.MAX_DEPTH))
            for aid, cid in rows:
                found[cid].append((aid, cid))
            for cid, pairs in found.items():
                self._recent[cid] = (now + self.recent_ttl, pairs)
        return [pair for cid, limit in depth.items() for pair in self._recent[cid][1][:limit]]

    async def _visible_channels(self, session: AsyncSession) -> list[int]:
        cached = self._channels
        if cached and cached[0] > time.monotonic():
            return cached[1]
        found = await recall.visible_channels(session)
        self._channels = (time.monotonic() + CHANNELS_TTL, found)
        return found
