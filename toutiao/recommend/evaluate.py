"""Offline evaluation of the recommender on the behaviour log (``toutiao reco evaluate``).

The log is every reader's likes and collections, in time order. Each reader with at least
``MIN_HISTORY`` interactions keeps their latest ``HOLDOUT`` share (at least one, at most
``MAX_HOLDOUT``) hidden; what came before trains. Three rankers then name ten articles per
reader, none already in their training history:

- **recommender**: the online ranking replayed offline: the reader's profile built from the
  training history with the same action weights (channels and title keywords), recall from
  the same kinds of sources (the reader's top channels, their keywords, hot, recent), then
  :func:`toutiao.recommend.rank.shortlist` and :func:`~toutiao.recommend.rank.pick`;
- **popularity**: the ten articles with the most training interactions;
- **recency**: the ten newest articles.

Scores: recall@10 (share of the hidden interactions found), NDCG@10 (binary gains) and
coverage (distinct articles recommended over the catalogue), averaged over readers.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import text as kit_text
from toutiao.models import Article, ArticleAttitude, Collection
from toutiao.models.enums import ArticleStatus, Attitude
from toutiao.recommend import rank, recall
from toutiao.recommend.profile import Profile, action_weight
from toutiao.recommend.recall import Candidate

K = 10
MIN_HISTORY = 5
HOLDOUT = 0.2
MAX_HOLDOUT = 10
KEYWORDS_PER_ARTICLE = 4
RECENT_N = 200
HOT_N = 200
PER_CHANNEL = 300  # newest articles of each of the reader's top channels
PER_KEYWORD = 60
SHORTLIST = 150


@dataclass(frozen=True, slots=True)
class Item:
    article_id: int
    channel_id: int
    author_id: int
    published: float
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Event:
    user_id: int
    article_id: int
    action: str  # "like" or "collect"
    at: float


@dataclass(slots=True)
class Row:
    name: str
    readers: int
    recall: float
    ndcg: float
    coverage: float


@dataclass(frozen=True, slots=True)
class Report:
    rows: list[Row]
    catalogue: int
    events: int
    held_out: int

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)

    def margin(self, name: str, metric: str = "recall") -> float:
        """How many times ``name``'s metric the recommender's is."""
        base = getattr(self.row(name), metric)
        mine = getattr(self.row("recommender"), metric)
        return mine / base if base else math.inf


# -- the log --------------------------------------------------------------------------------


async def load(session: AsyncSession) -> tuple[list[Item], list[Event]]:
    """Approved articles and the likes and collections on them (the behaviour log)."""
    articles = (
        await session.execute(
            select(
                Article.article_id,
                Article.channel_id,
                Article.user_id,
                Article.pubdate,
                Article.create_time,
                Article.title,
            ).where(Article.status == ArticleStatus.APPROVED)
        )
    ).all()
    items = [
        Item(
            int(aid),
            int(channel or 0),
            int(author),
            _epoch(pubdate or created),
            tuple(dict.fromkeys(kit_text.tokens(title)))[:KEYWORDS_PER_ARTICLE],
        )
        for aid, channel, author, pubdate, created, title in articles
    ]
    likes = select(
        ArticleAttitude.user_id,
        ArticleAttitude.article_id,
        ArticleAttitude.update_time,
    ).where(ArticleAttitude.attitude == Attitude.LIKE)
    collects = select(Collection.user_id, Collection.article_id, Collection.update_time).where(
        Collection.is_deleted.is_(False)
    )
    known = {item.article_id for item in items}
    events: list[Event] = []
    for action, query in (("like", likes), ("collect", collects)):
        for uid, aid, when in (await session.execute(query)).all():
            if aid in known:
                events.append(Event(int(uid), int(aid), action, _epoch(when)))
    return items, events


def _epoch(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


# -- rankers --------------------------------------------------------------------------------

Ranker = Callable[[int, set[int]], list[int]]


class World:
    """The catalogue and the training log, with what every ranker needs of them."""

    def __init__(self, items: Sequence[Item], train: Sequence[Event]) -> None:
        self.items = {item.article_id: item for item in items}
        self.now = max((i.published for i in items), default=0.0)
        counts: Counter[int] = Counter()
        self.history: dict[int, list[Event]] = defaultdict(list)
        for event in train:
            counts[event.article_id] += 1
            self.history[event.user_id].append(event)
        self.counts = counts
        self.popular = [aid for aid, _ in counts.most_common()]
        self.newest = sorted(self.items, key=lambda a: -self.items[a].published)
        self.by_channel: dict[int, list[int]] = defaultdict(list)
        self.by_keyword: dict[str, list[int]] = defaultdict(list)
        for aid in self.newest:
            item = self.items[aid]
            self.by_channel[item.channel_id].append(aid)
            for word in item.keywords:
                self.by_keyword[word].append(aid)

    def profile(self, user_id: int) -> Profile:
        """What the online profile holds after these events (channel and keyword gains with
        the same action weights; keywords count half, as when a profile is bootstrapped)."""
        profile = Profile()
        for event in sorted(self.history[user_id], key=lambda e: -e.at):
            item = self.items[event.article_id]
            weight = action_weight(event.action)
            profile.channels[item.channel_id] = profile.channels.get(item.channel_id, 0) + weight
            for word in item.keywords:
                profile.keywords[word] = profile.keywords.get(word, 0.0) + weight / 2
            profile.positives.append(event.article_id)
        return profile

    def recommender(self, user_id: int, seen: set[int]) -> list[int]:
        profile = self.profile(user_id)
        pool: dict[int, Candidate] = {}

        def add(ids: Sequence[int], source: str, n: int) -> None:
            taken = 0
            for aid in ids:
                if aid in seen:
                    continue
                item = self.items[aid]
                cand = pool.get(aid)
                if cand is None:
                    cand = pool[aid] = Candidate(
                        aid,
                        author_id=item.author_id,
                        channel_id=item.channel_id,
                        published=item.published,
                        popularity=math.log1p(self.counts[aid]),
                        keywords=item.keywords,
                    )
                cand.sources.add(source)
                taken += 1
                if taken >= n:
                    break

        add(self.newest, "recent", RECENT_N)
        add(self.popular, "hot", HOT_N)
        for channel in profile.top_channels(recall.INTEREST_CHANNELS):
            add(self.by_channel[channel], "interest", PER_CHANNEL)
        for word in profile.top_keywords(recall.KEYWORDS_N):
            add(self.by_keyword[word], "keyword", PER_KEYWORD)
        cands = rank.shortlist(list(pool.values()), SHORTLIST, profile, self.now)
        picked = rank.pick(cands, K, profile, self.now, mixed_channels=True)
        return [c.article_id for c in picked]

    def popularity(self, user_id: int, seen: set[int]) -> list[int]:
        return _first_unseen(self.popular, seen)

    def recency(self, user_id: int, seen: set[int]) -> list[int]:
        return _first_unseen(self.newest, seen)


def _first_unseen(ranked: Sequence[int], seen: set[int]) -> list[int]:
    out: list[int] = []
    for aid in ranked:
        if aid not in seen:
            out.append(aid)
            if len(out) == K:
                break
    return out


# -- the evaluation -------------------------------------------------------------------------


def split(events: Sequence[Event]) -> tuple[list[Event], dict[int, set[int]]]:
    """Training events, and each evaluated reader's hidden (latest) articles."""
    by_user: dict[int, list[Event]] = defaultdict(list)
    for event in events:
        by_user[event.user_id].append(event)
    train: list[Event] = []
    hidden: dict[int, set[int]] = {}
    for user_id, mine in by_user.items():
        mine.sort(key=lambda e: (e.at, e.article_id))
        if len(dict.fromkeys(e.article_id for e in mine)) < MIN_HISTORY:
            train += mine
            continue
        cut = len(mine) - min(MAX_HOLDOUT, max(1, int(len(mine) * HOLDOUT)))
        earlier = {e.article_id for e in mine[:cut]}
        later = {e.article_id for e in mine[cut:]} - earlier
        train += mine[:cut]
        if later:
            hidden[user_id] = later
    return train, hidden


def _ndcg(ranked: Sequence[int], relevant: set[int]) -> float:
    gain = sum(1 / math.log2(n + 2) for n, aid in enumerate(ranked[:K]) if aid in relevant)
    ideal = sum(1 / math.log2(n + 2) for n in range(min(len(relevant), K)))
    return gain / ideal if ideal else 0.0


def evaluate(items: Sequence[Item], events: Sequence[Event]) -> Report:
    train, hidden = split(events)
    world = World(items, train)
    rankers: dict[str, Ranker] = {
        "recommender": world.recommender,
        "popularity": world.popularity,
        "recency": world.recency,
    }
    rows = []
    for name, ranker in rankers.items():
        recalls, ndcgs, shown = [], [], set()
        for user_id, relevant in hidden.items():
            seen = {e.article_id for e in world.history[user_id]}
            ranked = ranker(user_id, seen)
            shown.update(ranked)
            recalls.append(len(relevant.intersection(ranked)) / len(relevant))
            ndcgs.append(_ndcg(ranked, relevant))
        readers = len(hidden)
        rows.append(
            Row(
                name,
                readers,
                sum(recalls) / readers if readers else 0.0,
                sum(ndcgs) / readers if readers else 0.0,
                len(shown) / len(items) if items else 0.0,
            )
        )
    held = sum(len(v) for v in hidden.values())
    return Report(rows, len(items), len(events), held)
