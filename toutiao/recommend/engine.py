"""The recommender: a user's feed batches (fresh or replayed) and similar articles.

A fresh batch for a reader with an id is usually served from the reader's wait queue
(``waiting.py``): two Redis round trips (state with the queue; recording) and no SQL. When
the queue runs short, recall + ranking fill it: up to six Redis round trips (state; profile;
recall; shown filter; features, for the candidates whose in-process copy of at most
``FEATURES_TTL`` lacks them; recording) and one read session with up to two bounded, indexed
queries (the user's dislikes and blacklists when their cached copy is stale; metadata the
in-process cache lacks), and a third for a reader with more dislikes or blacklists than the
cached copy holds: the shortlisted candidates checked against the database
(``recall.excluded``), so its cost follows the candidates, not the history. The Redis recall and the database recall run concurrently. A
replay costs one round trip. A refill (``refill.py``) reads the profile with the state, in one
round trip: a reader's keys share a hash tag, so on a cluster both go to one node.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import cachebox
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.db import Database
from toutiao.recommend import history, keys, rank, recall, waiting
from toutiao.recommend.meta import (
    ArticleMeta,
    MetaCache,
    RecentArticles,
    approved_meta,
    older,
)
from toutiao.recommend.profile import Profile, bootstrap_profile, parse_profile
from toutiao.recommend.recall import Candidate, Pool
from toutiao.recommend.schemas import RecoBatch, RecoItem, exposure, tracks
from toutiao.recommend.similar import queue_similar
from toutiao.recommend.waiting import Exclusions, Pairs

# With too few unseen candidates, articles shown at least this long ago may come back.
RESHOW_AFTER = 6 * 3600.0
PROFILE_READ = 100
SHORTLIST = 100  # candidates whose popularity and keywords are read for the final ranking
OLDER_ROWS = 200  # how deep one request digs past the recent list for a heavy reader
CHANNELS_TTL = 60.0
RECENT_TTL = 15.0
# Popularity and keywords of a candidate, kept in-process: every refill of every reader reads
# them for its shortlist, and a ranking a few seconds behind the counters is still sound.
FEATURES_TTL = 30.0
FEATURES_SIZE = 50_000
READ_THROUGH = 1e-6  # the ttl that stands for 0 (no caching): cachebox wants a positive one


@dataclass
class _State:
    position: history.Position = field(default_factory=lambda: history.Position(0, 0, 0))
    profile: Profile = field(default_factory=Profile)
    pinned: set[int] = field(default_factory=set)
    waiting: Pairs = field(default_factory=list)
    last_rank: int = -1  # the highest rank in the queue (-1: empty)
    ranked_at: float | None = None  # when the queue's front was ranked (ms; None: unknown)
    ring: bool = False  # the queue is a ring (``waiting.RING_SCORE``)
    # None until known: a registered user's cached copy was missing or stale
    exclusions: Exclusions | None = field(default_factory=lambda: Exclusions(set(), set(), ""))
    exclusions_version: str = ""  # keys.exclusions_version as read with the state
    checked: str | None = None  # the version the queue was checked under (waiting.py)
    booted: bool | None = None  # the profile exists or was bootstrapped lately (None: not read)


@dataclass
class _Request:
    uid: str  # "" for an anonymous reader without a device id
    user_id: int | None  # set when uid is a registered user's id
    channel_id: int
    count: int
    now: float


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
        self._channels: tuple[float, list[int]] | None = None
        self._visible: frozenset[int] = frozenset()
        self._meta = MetaCache()
        self._recent = RecentArticles(db, self._meta, ttl=recent_ttl, depth=recall.MAX_DEPTH)
        # The rows past a channel's recent list, the same for every reader who has seen it
        # (keyed by channel and where the list ends); dropped with the recent lists.
        # These caches hold tuples of numbers and strings only, in cachebox's native tables
        # (no per-entry link objects): the collector stops tracking them (see meta.py).
        self._older: cachebox.TTLCache[tuple[int, float], tuple[tuple[int, ArticleMeta], ...]]
        self._older = cachebox.TTLCache(1024, max(recent_ttl, READ_THROUGH))
        self._features: cachebox.TTLCache[int, tuple[float, tuple[str, ...]]]
        self._features = cachebox.TTLCache(FEATURES_SIZE, FEATURES_TTL)
        self._catalog: str | None = None  # the last keys.CATALOG version seen

    async def user_recommend(
        self,
        user_id: str,
        channel_id: int,
        article_num: int,
        time_stamp: int,
        *,
        caller_records: bool = False,
    ) -> RecoBatch:
        """The batch for ``time_stamp`` (a replay when it is not newer than the history).

        A fresh batch is recorded here (history, shown) unless ``caller_records``: then the
        caller records what it actually serves, and the batch stays at the head of the wait
        queue until then, so a request that fails after this call marks nothing as shown
        and the next one is offered the same articles."""
        uid = user_id.strip()
        req = _Request(uid, keys.registered_user(uid), channel_id, article_num, self.clock())
        state = await self._read_state(req, time_stamp)
        if uid and not state.position.is_fresh(time_stamp):
            return self._replay(req, state.position)
        ranked = await self._from_queue(req, state)
        ring = state.ring
        if ranked is None:
            if uid:  # only ranking needs the profile
                await self._load_profile(req, state)
            want = req.count * waiting.WAIT_BATCHES if uid else req.count
            ranked, ring = await self._fresh(req, state, want)
        batch, rest = ranked[: req.count], ranked[req.count :]
        if uid and batch and caller_records:
            await self._queue(req, ranked, state.exclusions, ring)
        elif uid and batch:
            await self._remember(req, time_stamp, batch, rest, state.exclusions, ring)
        return RecoBatch(
            exposure(uid, [a for a, _ in batch]) if batch else "",
            state.position.latest if uid else 0,
            [RecoItem(aid, tracks(uid, aid, label, req.channel_id)) for aid, label in batch],
        )

    async def close(self) -> None:
        await self._recent.close()

    async def similar(self, article_id: int, n: int) -> list[int]:
        """Up to ``n`` approved articles most similar in content, best first (approval from
        the metadata cache; only what it lacks is read from the database)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.CATALOG)
            queue_similar(pipe, article_id, n * 3)
            catalog, raw = await pipe.execute()
        self._check_catalog(catalog)
        found = [a for a in map(int, raw) if a != article_id]
        known = await self._approved(None, found)
        return [a for a in found if a in known][:n]

    def _check_catalog(self, raw: Any) -> None:
        """An approved article stopped being servable somewhere: forget cached metadata."""
        version = waiting.version_text(raw)
        if self._catalog is not None and version != self._catalog:
            self._meta.clear()
            self._recent.clear()
            self._older.clear()
        self._catalog = version

    # -- state and history -----------------------------------------------------------------

    async def _read_state(self, req: _Request, time_stamp: int, *, profile: bool = False) -> _State:
        """``profile``: read the profile too (a refill needs it: the reader's keys share a
        node, so it costs no round trip of its own)."""
        uid, state = req.uid, _State()
        registered = req.user_id is not None
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.CATALOG)
            pipe.zrange(keys.pinned(req.channel_id), 0, -1)
            if uid:
                history.queue_position(pipe, uid, req.channel_id, time_stamp)
                waiting.queue_read_waiting(pipe, uid, req.channel_id)
            if registered:
                pipe.get(keys.exclusions(uid))
                pipe.get(keys.exclusions_version(uid))
            if profile and uid:
                _queue_profile(pipe, uid)
            results = await pipe.execute()
        if profile and uid:
            state.profile, state.booted = _parse_profile(results[-3:])
        self._check_catalog(results[0])
        state.pinned = {int(a) for a in results[1]}
        if uid:
            latest, around, queued = (history.scored(raw) for raw in results[2:5])
            state.position = history.parse_position(latest, around)
            state.waiting = waiting.parse_waiting(queued)
            state.checked = waiting.parse_checked(queued)
            state.last_rank = waiting.last_rank(queued)
            state.ranked_at = waiting.parse_ranked_at(queued)
            state.ring = waiting.parse_ring(queued)
        if registered:
            state.exclusions_version = waiting.version_text(results[6])
            state.exclusions = waiting.parse_exclusions(results[5], state.exclusions_version)
        return state

    async def _load_profile(self, req: _Request, state: _State) -> None:
        booted = state.booted
        if booted is None:
            state.profile, booted = await self._read_profile(req.uid)
        if not booted and req.user_id is not None:
            await bootstrap_profile(self.db, self.redis, req.uid, req.user_id)
            state.profile, _ = await self._read_profile(req.uid)

    async def _read_profile(self, uid: str) -> tuple[Profile, bool]:
        """The user's interest profile, and whether it exists or was bootstrapped lately."""
        async with self.redis.pipeline(transaction=False) as pipe:
            _queue_profile(pipe, uid)
            return _parse_profile(await pipe.execute())

    def _replay(self, req: _Request, position: history.Position) -> RecoBatch:
        if not position.at:
            return RecoBatch("", 0, [])
        batch = position.batch
        items = [RecoItem(aid, tracks(req.uid, aid, label, req.channel_id)) for aid, label in batch]
        return RecoBatch("", position.older, items)

    async def _remember(
        self,
        req: _Request,
        time_stamp: int,
        batch: history.Batch,
        rest: Pairs,
        exclusions: Exclusions | None,
        ring: bool,
    ) -> None:
        """Record the batch, mark it shown, queue ``rest`` (and take the batch out of the
        user's other queue; a ring keeps it, behind the rest), cache freshly read exclusions:
        one round trip."""

        async with self.redis.pipeline(transaction=False) as pipe:
            waiting.queue_served(
                pipe,
                req.uid,
                req.channel_id,
                time_stamp,
                batch,
                now_ms=req.now * 1000,
                unqueue=self._elsewhere(req, batch),
            )
            waiting.queue_waiting(
                pipe,
                req.uid,
                req.channel_id,
                [*rest, *batch] if ring else rest,
                _checked_tag(req, exclusions),
                ranked_at_ms=req.now * 1000,
                ring=ring,
            )
            if exclusions is not None and exclusions.loaded:
                waiting.queue_exclusions(pipe, req.uid, exclusions)
            await pipe.execute()

    async def _queue(
        self, req: _Request, ranked: Pairs, exclusions: Exclusions | None, ring: bool
    ) -> None:
        """Queue the whole ranking, the batch first (the caller records and unqueues it)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            waiting.queue_waiting(
                pipe,
                req.uid,
                req.channel_id,
                ranked,
                _checked_tag(req, exclusions),
                ranked_at_ms=req.now * 1000,
                ring=ring,
            )
            if exclusions is not None and exclusions.loaded:
                waiting.queue_exclusions(pipe, req.uid, exclusions)
            await pipe.execute()

    def _elsewhere(self, req: _Request, batch: history.Batch) -> dict[int, list[int]]:
        """The reader's other queues the batch's articles wait in."""
        known, _ = self._meta.lookup(aid for aid, _ in batch)
        channel_of = {aid: channel for aid, (_, channel, _) in known.items()}
        if req.channel_id:
            channel_of = {aid: req.channel_id for aid, _ in batch}
        return waiting.elsewhere(req.channel_id, channel_of)

    # -- refilling a queue ahead of need -----------------------------------------------------

    async def refill(self, uid: str, channel_id: int, count: int) -> int:
        """Top the user's queue of ``channel_id`` up to ``waiting.refill_target`` articles
        when fewer than ``REFILL_BELOW`` batches wait, or rank it again as a whole when its
        front was ranked more than ``waiting.MAX_AGE`` ago and an article was published in
        the channel since (nothing since: only its ranked time moves); returns how many
        articles were written. A ranking that finds every article there is, or brings back
        articles shown before, replaces the queue with a ring of them all
        (``waiting.RING_SCORE``); a ring that ran low (its articles were served elsewhere) is
        ranked again as a whole."""
        uid = uid.strip()
        if not uid:
            return 0
        req = _Request(uid, keys.registered_user(uid), channel_id, count, self.clock())
        state = await self._read_state(req, 0, profile=True)
        low = len(state.waiting) < waiting.REFILL_BELOW * count
        ranked_at = state.ranked_at
        aged = ranked_at is not None and waiting.is_stale(ranked_at, req.now * 1000)
        # a ring that ran low is ranked again as a whole: what it still holds was shown
        # before, and anything unseen must come first
        replace = low and state.ring
        if aged and not replace:
            replace = await self._published_since(req, (ranked_at or 0) / 1000)
        want = waiting.refill_target(count)
        found: Pairs = []
        ring = False
        if low or replace:
            await self._load_profile(req, state)
            found, ring = await self._fresh(req, state, want)
            replace = replace or ring  # a ring holds every article there is: it replaces
        elif not aged:
            return 0
        exclusions = state.exclusions
        async with self.redis.pipeline(transaction=False) as pipe:
            if replace:  # what still waits is among the candidates: ranked again with the rest
                written = found
                tag = _checked_tag(req, exclusions)
                waiting.queue_waiting(
                    pipe, uid, channel_id, written, tag, ranked_at_ms=req.now * 1000, ring=ring
                )
            else:
                queued = {a for a, _ in state.waiting}
                written = [pair for pair in found if pair[0] not in queued]
                written = written[: max(want - len(queued), 0)]
                waiting.queue_append(
                    pipe,
                    uid,
                    channel_id,
                    written,
                    state.last_rank,
                    state.checked,
                    ranked_at_ms=req.now * 1000,
                )
                if aged:  # checked: nothing was published since its ranking
                    waiting.queue_ranked_now(pipe, uid, channel_id, req.now * 1000)
            if exclusions is not None and exclusions.loaded:
                waiting.queue_exclusions(pipe, uid, exclusions)
            await pipe.execute()
        return len(written)

    async def _published_since(self, req: _Request, since: float) -> bool:
        """Whether an article of the request's channel (any visible one for channel 0) was
        published after ``since``: the newest of each from the recent lists' cache."""
        async with self.db.read_session() as session:
            channels = [req.channel_id] if req.channel_id else await self._visible_channels(session)
            newest = await self._recent.get(session, dict.fromkeys(channels, 1))
        return any(published > since for _, (_, _, published) in newest)

    # -- a fresh batch ---------------------------------------------------------------------

    async def _from_queue(self, req: _Request, state: _State) -> Pairs | None:
        """The queued picks that may still be served, best first; None when fewer than a
        batch remain or the caches can't vouch for them (then recall + ranking run). The
        queue of a reader whose cached exclusions are a part was checked under an older
        version: checked again (one bounded query)."""
        if not state.waiting or state.exclusions is None:
            return None
        excl = state.exclusions
        disliked, blocked = excl.disliked, excl.blocked
        skip = disliked | state.pinned | state.position.recent  # never the newest batches again
        queued = [(a, label) for a, label in state.waiting if a not in skip]
        known, missing = self._meta.lookup(a for a, _ in queued)
        if missing or (req.channel_id == 0 and not self._visible):
            return None
        left = [
            (a, label)
            for a, label in queued
            if a in known and self._eligible(known[a], req, blocked)
        ]
        unchecked = not excl.complete and state.checked != excl.version
        if len(left) >= req.count and req.user_id is not None and unchecked:
            authors: dict[int, int] = {}
            for a, _ in left:
                authors[a], _, _ = known[a]
            async with self.db.read_session() as session:
                dropped = await recall.excluded(session, req.user_id, authors)
            left = [(a, label) for a, label in left if a not in dropped]
        return left if len(left) >= req.count else None

    async def _fresh(self, req: _Request, state: _State, want: int) -> tuple[Pairs, bool]:
        """Recall, rank and check ``want`` articles (the first batch and the queue); articles
        shown before come after every unseen one. With whether the queue they make is a ring
        (``waiting.RING_SCORE``)."""
        async with self.db.read_session() as session:
            cands, excluded = await self._candidates(session, req, state)
            again: list[Candidate] = []
            newest: list[Candidate] = []
            if req.uid and cands:
                cands, again, newest = await self._not_shown(
                    session, req, state, cands, excluded, want
                )
            # a refill wants more than SHORTLIST: rank a quarter more than it keeps
            size = max(SHORTLIST, want + want // 4)
            cands = rank.shortlist(cands, size, state.profile, req.now)
            if req.user_id is not None and not excluded.complete:
                cands, again, newest = await self._checked(
                    session, req.user_id, cands, again, newest
                )
            if not cands and not again:
                return [], False
            await self._read_features([*cands, *again])
        mixed = req.channel_id == 0
        chosen = rank.pick(cands, want, state.profile, req.now, mixed_channels=mixed)
        unseen = len(chosen)
        if len(chosen) < want and again:
            left = want - len(chosen)
            chosen += rank.pick(again, left, state.profile, req.now, mixed_channels=mixed)
        # The queue is a ring when it holds every article there is for this reader (fewer
        # than wanted), or a refill's worth of which some were shown before (the reader read
        # the channel through): ranking it again would only find the same articles. What the
        # newest batches showed goes last, behind as many batches, so it comes round again
        # only after them and the ring holds the whole channel. A ring holds one batch more
        # than the newest batches: a batch sent to its tail comes round after them.
        read_through = unseen < len(chosen) and want >= waiting.refill_target(req.count)
        recent = history.RECENT_BATCHES * req.count
        whole = len(chosen) < want or read_through
        ring = whole and len(chosen) >= recent and len(chosen) + len(newest) >= recent + req.count
        if ring:
            chosen += newest
        return [(c.article_id, c.label) for c in chosen], ring

    async def _read_features(self, cands: list[Candidate]) -> None:
        """Each candidate's popularity and keywords: the in-process copy, else one round
        trip for those it lacks."""
        lacking: list[Candidate] = []
        for cand in cands:
            found = self._features.get(cand.article_id)
            if found is None:
                lacking.append(cand)
            else:
                cand.popularity, cand.keywords = found
        if not lacking:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            recall.queue_features(pipe, [c.article_id for c in lacking])
            recall.apply_features(lacking, await pipe.execute())
        for cand in lacking:
            self._features[cand.article_id] = (cand.popularity, cand.keywords)

    async def _checked(
        self, session: AsyncSession, user_id: int, *groups: list[Candidate]
    ) -> tuple[list[Candidate], ...]:
        """The candidates the user may be served, by one query bounded by them: the cached
        exclusions of this user are only a part of them."""
        authors = {c.article_id: c.author_id for group in groups for c in group}
        dropped = await recall.excluded(session, user_id, authors)
        return tuple([c for c in group if c.article_id not in dropped] for group in groups)

    def _eligible(self, meta: ArticleMeta, req: _Request, blocked: set[int]) -> bool:
        author, channel, _ = meta
        if author in blocked:
            return False
        if req.channel_id:
            return channel == req.channel_id
        return channel in self._visible

    async def _candidates(
        self, session: AsyncSession, req: _Request, state: _State
    ) -> tuple[list[Candidate], Exclusions]:
        """Recalled, approved (as far as the cache knows), in the channel, not pinned, not
        disliked, not by a blocked author; and the user's exclusions."""
        (recent_rows, excluded), pool = await asyncio.gather(
            self._recall_db(session, req, state),
            self._recall_redis(req, state.profile),
        )
        top = set(state.profile.top_channels(recall.INTEREST_CHANNELS))
        for aid, meta in recent_rows:
            _, channel, _ = meta
            interest = req.channel_id == 0 and channel in top
            pool.add([aid], "interest" if interest else "recent")
        skip = excluded.disliked | state.pinned
        known = await self._approved(session, [a for a in pool if a not in skip])
        return self._admit(known.items(), pool.__getitem__, req, excluded.blocked), excluded

    async def _approved(
        self, session: AsyncSession | None, article_ids: list[int]
    ) -> dict[int, ArticleMeta]:
        """The approved ones among ``article_ids``: the metadata cache, then one query for
        what it lacks (in ``session``, or a read session of its own)."""
        known, missing = self._meta.lookup(article_ids)
        if missing:
            if session is None:
                async with self.db.read_session() as own:
                    loaded = await approved_meta(own, missing)
            else:
                loaded = await approved_meta(session, missing)
            self._meta.put_loaded(missing, loaded)
            known.update(loaded)
        return known

    def _admit(
        self,
        known: Iterable[tuple[int, ArticleMeta]],
        candidate: Callable[[int], Candidate],
        req: _Request,
        blocked: set[int],
    ) -> list[Candidate]:
        """The eligible ones of ``known`` as candidates (``candidate`` gives an article's, made
        only for those), their author, channel and time set from the metadata."""
        cands = []
        for aid, meta in known:
            if self._eligible(meta, req, blocked):
                cand = candidate(aid)
                cand.author_id, cand.channel_id, cand.published = meta
                cands.append(cand)
        return cands

    async def _not_shown(
        self,
        session: AsyncSession,
        req: _Request,
        state: _State,
        cands: list[Candidate],
        excluded: Exclusions,
        want: int,
    ) -> tuple[list[Candidate], list[Candidate], list[Candidate]]:
        """(unseen, shown before, shown in the newest batches) candidates: drop what this user
        was shown. Too little left: dig older articles of the channel; still too little: bring
        back what was shown longest ago (not in the newest batches, or at least RESHOW_AFTER
        ago; those of the newest batches, oldest first, only for a ring to put last). When the
        candidates are fewer than ``want`` even all unseen (a refill, as a rule), the older
        ones are dug at once and checked in the same read."""
        recent = state.position.recent
        older: list[Candidate] = []
        if len(cands) < want:
            older = await self._older_candidates(session, req, state, cands, excluded)
        fresh, stale, newest = await self._split_shown([*cands, *older], req, recent)
        if len(fresh) < want and not older:
            older = await self._older_candidates(session, req, state, cands, excluded)
            more_fresh, more_stale, more_newest = await self._split_shown(older, req, recent)
            fresh += more_fresh
            stale = sorted([*stale, *more_stale], key=lambda ws: ws[0])
            newest = sorted([*newest, *more_newest], key=lambda ws: ws[0])
        room = max(want - len(fresh), 0)
        return fresh, [c for _, c in stale[:room]], [c for _, c in newest]

    async def _older_candidates(
        self,
        session: AsyncSession,
        req: _Request,
        state: _State,
        cands: list[Candidate],
        excluded: Exclusions,
    ) -> list[Candidate]:
        """The channel's articles past where its recent list ends, admitted as candidates."""
        disliked, blocked = excluded.disliked, excluded.blocked
        listed = [c.published for c in cands if c.sources & {"recent", "interest"}]
        before = min(listed, default=req.now)  # where the recent list ends
        rows = await self._older_rows(session, req.channel_id, before)
        allowed = ((a, m) for a, m in rows if a not in disliked and a not in state.pinned)
        return self._admit(allowed, lambda aid: Candidate(aid, {"recent"}), req, blocked)

    async def _older_rows(
        self, session: AsyncSession, channel_id: int, before: float
    ) -> tuple[tuple[int, ArticleMeta], ...]:
        rows = self._older.get((channel_id, before))
        if rows is None:
            rows = tuple(await older(session, channel_id, before, OLDER_ROWS))
            for aid, meta in rows:  # kept longer than the rows: no need to put them again
                self._meta.put(aid, meta)
            self._older[(channel_id, before)] = rows
        return rows

    async def _split_shown(
        self, cands: list[Candidate], req: _Request, recent: set[int]
    ) -> tuple[list[Candidate], list[tuple[float, Candidate]], list[tuple[float, Candidate]]]:
        """(never shown, (when, candidate) shown before: not in the ``recent`` batches or at
        least RESHOW_AFTER ago, (when, candidate) shown in them lately), oldest first."""
        if not cands:
            return [], [], []
        members = [str(c.article_id) for c in cands]
        shown_ms = await self.redis.zmscore(keys.shown(req.uid), members)
        cutoff = (req.now - RESHOW_AFTER) * 1000
        fresh: list[Candidate] = []
        stale: list[tuple[float, Candidate]] = []
        newest: list[tuple[float, Candidate]] = []
        for cand, when in zip(cands, shown_ms, strict=True):
            if when is None:
                fresh.append(cand)
            elif when <= cutoff or cand.article_id not in recent:
                stale.append((when, cand))
            else:
                newest.append((when, cand))
        stale.sort(key=lambda ws: ws[0])
        newest.sort(key=lambda ws: ws[0])
        return fresh, stale, newest

    async def _recall_redis(self, req: _Request, profile: Profile) -> Pool:
        pool = Pool()
        async with self.redis.pipeline(transaction=False) as pipe:
            layout = recall.queue_redis_sources(pipe, req.channel_id, profile)
            recall.add_redis_sources(pool, layout, await pipe.execute())
        return pool

    async def _recall_db(
        self, session: AsyncSession, req: _Request, state: _State
    ) -> tuple[list[tuple[int, ArticleMeta]], Exclusions]:
        """The channels' recent articles, and the user's exclusions (read from the database
        when the cached copy was missing or stale)."""
        profile = state.profile
        visible = await self._visible_channels(session)
        if req.channel_id:
            depth = {req.channel_id: recall.RECENT_PER_CHANNEL}
        else:
            each = max(recall.RECENT_ALL // max(len(visible), 1), 5)
            depth = dict.fromkeys(visible, each)
            for cid in profile.top_channels(recall.INTEREST_CHANNELS):
                if cid in depth:
                    depth[cid] = max(each, recall.INTEREST_PER_CHANNEL)
        rows = await self._recent.get(session, depth)
        if state.exclusions is None and req.user_id is not None:  # missing or stale copy
            disliked, blocked, complete = await recall.exclusions(session, req.user_id)
            state.exclusions = Exclusions(
                disliked, blocked, state.exclusions_version, loaded=True, complete=complete
            )
        return rows, state.exclusions or Exclusions(set(), set(), "")

    async def _visible_channels(self, session: AsyncSession) -> list[int]:
        cached = self._channels
        if cached and cached[0] > time.monotonic():
            return cached[1]
        found = await recall.visible_channels(session)
        self._channels = (time.monotonic() + CHANNELS_TTL, found)
        self._visible = frozenset(found)
        return found


def _queue_profile(pipe: Any, uid: str) -> None:
    pipe.zrevrange(keys.interest(uid), 0, PROFILE_READ - 1, withscores=True)
    pipe.zrevrange(keys.positives(uid), 0, recall.SEEDS_N - 1)
    pipe.exists(keys.bootstrapped(uid))


def _parse_profile(results: list[Any]) -> tuple[Profile, bool]:
    """The profile read by :func:`_queue_profile`, and whether it exists or was bootstrapped
    lately."""
    interest, positives, booted = results
    return parse_profile(interest, positives), bool(interest or booted)


def _checked_tag(req: _Request, exclusions: Exclusions | None) -> str | None:
    """The checked tag of what a registered reader's queue receives: the exclusions version
    it was checked under (``waiting.py``)."""
    if req.user_id is None or exclusions is None:
        return None
    return exclusions.version
