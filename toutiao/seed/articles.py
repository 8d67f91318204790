"""Rows for articles, their bodies, and readers' likes, collections and comments, in batches.

Articles are generated oldest first, so their Snowflake ids grow with their publish time
and ordering by id agrees with ordering by time, as it does on a live site.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from toutiao.kit.ids import Snowflake
from toutiao.models.enums import ArticleStatus, Attitude, CommentStatus, CoverType
from toutiao.seed import text
from toutiao.seed.people import between
from toutiao.seed.readers import Readers
from toutiao.seed.words import Topic

Row = dict[str, Any]

_OTHER_STATUSES = (
    ArticleStatus.DRAFT,
    ArticleStatus.PENDING,
    ArticleStatus.REJECTED,
    ArticleStatus.DELETED,
)
_REJECT_REASONS = ("标题与内容不符", "内容质量不达标", "涉嫌广告推广", "图片不清晰")
# Exponent of the age curve: larger values crowd more articles into recent days.
_RECENCY = 1.8
# Readers' tastes (see ArticleFactory._reactions): what share of the draws an article outside
# a reader's favourite channels keeps, and how many more draws make up for the ones dropped.
OFF_TASTE = 0.05
TASTE_DRAWS = 5.0
TASTE_ROOM = 0.5


@dataclass
class Batch:
    articles: list[Row] = field(default_factory=list)
    contents: list[Row] = field(default_factory=list)
    attitudes: list[Row] = field(default_factory=list)
    collections: list[Row] = field(default_factory=list)
    comments: list[Row] = field(default_factory=list)
    replies: list[Row] = field(default_factory=list)
    comment_likes: list[Row] = field(default_factory=list)


class ArticleFactory:
    """Articles by index: ``batch(start, stop)`` draws from a generator of its own, seeded by
    ``seed`` and ``start``, so any batch can be made again alone (a resumed seed continues at
    the first batch that was not committed)."""

    def __init__(
        self,
        rng: random.Random,
        ids: Snowflake,
        now: datetime,
        *,
        total: int,
        channels: list[tuple[int, Topic]],
        users: list[Row],
        cover_urls: list[str],
        days: int = 90,
        seed: object = 0,
    ) -> None:
        self.seed = seed
        self.rng, self.ids, self.now, self.total, self.days = rng, ids, now, total, days
        self.channels = channels
        self.channel_cum = list(accumulate(t.weight for _, t in channels))
        self.user_ids = [u["user_id"] for u in users]
        self.cover_urls = cover_urls
        media = [u["user_id"] for u in users if u["is_media"]]
        # Zipf-like: a few media authors write most of the articles.
        self.media = media
        self.media_cum = list(accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(media))))
        self.favourites = {
            uid: rng.choices(range(len(channels)), cum_weights=self.channel_cum, k=2)
            for uid in self.user_ids
        }
        self.readers = Readers(rng, self.user_ids, int(total * 0.95) + 1)
        self.texts = text.TextPool()

    def batch(self, start: int, stop: int) -> Batch:
        self.rng = random.Random(f"{self.seed}:articles:{start}")
        out = Batch()
        for index in range(start, stop):
            self._article(index, out)
        return out

    def _published_at(self, index: int) -> datetime:
        # Stratified quantiles: monotone in the index, denser toward now.
        u = (index + self.rng.random()) / self.total
        age = self.days * 86400 * (1 - u) ** _RECENCY
        return (self.now - timedelta(seconds=age)).replace(microsecond=0)

    def _author(self) -> int:
        rng = self.rng
        if self.media and rng.random() < 0.85:
            return rng.choices(self.media, cum_weights=self.media_cum)[0]
        return rng.choice(self.user_ids)

    def _channel(self, author: int) -> tuple[int, Topic]:
        rng = self.rng
        if rng.random() < 0.5:
            return self.channels[rng.choice(self.favourites[author])]
        return rng.choices(self.channels, cum_weights=self.channel_cum)[0]

    def _cover(self) -> dict[str, Any]:
        roll = self.rng.random()
        kind = CoverType.NONE if roll < 0.2 else CoverType.ONE if roll < 0.7 else CoverType.THREE
        if len(self.cover_urls) < int(kind):
            kind = CoverType.NONE
        return {"type": int(kind), "images": self.rng.sample(self.cover_urls, int(kind))}

    def _article(self, index: int, out: Batch) -> None:
        rng = self.rng
        when = self._published_at(index)
        author = self._author()
        channel_id, topic = self._channel(author)
        status = ArticleStatus.APPROVED if rng.random() < 0.95 else rng.choice(_OTHER_STATUSES)
        cover = self._cover()
        row = {
            "article_id": self.ids.next_id(),
            "user_id": author,
            "channel_id": channel_id,
            "title": text.title(rng, topic),
            "cover": cover,
            "is_advertising": False,
            "status": status,
            "allow_comment": rng.random() < 0.97,
            "comment_count": 0,
            **self._times(status, when),
        }
        image = cover["images"][0] if cover["images"] else None
        out.articles.append(row)
        out.contents.append(
            {
                "article_id": row["article_id"],
                "content": text.body(rng, topic, image, self.texts),
                "create_time": row["create_time"],
                "update_time": row["update_time"],
            }
        )
        if status == ArticleStatus.APPROVED:
            self._reactions(row, topic, out)

    def _times(self, status: ArticleStatus, when: datetime) -> Row:
        rng = self.rng
        times: Row = {
            "pubdate": None,
            "review_time": None,
            "delete_time": None,
            "reject_reason": None,
        }
        if status == ArticleStatus.APPROVED:
            created = when - timedelta(seconds=rng.randint(300, 6 * 3600))
            times.update(pubdate=when, review_time=when, create_time=created, update_time=when)
            return times
        later = min(when + timedelta(seconds=rng.randint(600, 86400)), self.now)
        times.update(create_time=when, update_time=when)
        if status == ArticleStatus.REJECTED:
            times.update(
                review_time=later, update_time=later, reject_reason=rng.choice(_REJECT_REASONS)
            )
        elif status == ArticleStatus.DELETED:
            times.update(delete_time=later, update_time=later)
        return times

    def _reactions(self, article: Row, topic: Topic, out: Batch) -> None:
        """The one place reader behaviour is decided: who likes, dislikes, collects and
        comments on an approved article (appetites in :class:`Readers`). Readers have tastes:
        an article outside a reader's favourite channels (their topics, :meth:`_tastes`)
        keeps only ``OFF_TASTE`` of its draws, and each article draws ``TASTE_DRAWS`` times
        as many, so appetites stay about the same and the log carries a signal a
        recommender can find."""
        rng = self.rng
        popularity = rng.random() ** 3
        article_id, author, published = (
            article["article_id"],
            article["user_id"],
            article["pubdate"],
        )
        channel = article["channel_id"]

        def readers(share: float) -> list[int]:
            drawn = self.readers.pick(rng, popularity, share * TASTE_DRAWS, author)
            return [u for u in drawn if channel in self._tastes(u) or rng.random() < OFF_TASTE]

        for uid in readers(1.0):
            roll = rng.random()
            attitude = Attitude.LIKE if roll < 0.88 else Attitude.DISLIKE if roll < 0.96 else None
            when = between(rng, published, self.now)
            out.attitudes.append(
                {
                    "user_id": uid,
                    "article_id": article_id,
                    "attitude": attitude,
                    "create_time": when,
                    "update_time": when,
                }
            )
        for uid in readers(0.4):
            when = between(rng, published, self.now)
            out.collections.append(
                {
                    "user_id": uid,
                    "article_id": article_id,
                    "is_deleted": rng.random() < 0.1,
                    "create_time": when,
                    "update_time": when,
                }
            )
        if article["allow_comment"]:
            article["comment_count"] = self._comments(article, topic, popularity, out)

    def _tastes(self, uid: int) -> frozenset[int]:
        """A reader's favourite channels: their two, then more in an order of their own until
        the channels hold about ``TASTE_ROOM`` times their appetite (a heavy reader has broad
        tastes, still the same ones every time). Drawn from the reader's own generator."""
        found = self.__dict__.setdefault("_taste_cache", {}).get(uid)
        if found is not None:
            return found  # type: ignore[no-any-return]
        weights = [t.weight for _, t in self.channels]
        order = list(dict.fromkeys(self.favourites[uid]))
        rest = [i for i in range(len(self.channels)) if i not in order]
        # By the reader's place, not their id: ids differ from one seeding to the next.
        place = self.user_ids.index(uid)
        random.Random(f"{self.seed}:taste:{place}").shuffle(rest)
        want = TASTE_ROOM * self.readers.appetite[uid] / max(self.total * 0.95, 1)
        held = sum(weights[i] for i in order) / sum(weights)
        for i in rest:
            if held >= want:
                break
            order.append(i)
            held += weights[i] / sum(weights)
        found = frozenset(self.channels[i][0] for i in order)
        self._taste_cache[uid] = found
        return found

    def _comment(self, article_id: int, parent: Row | None, when: datetime, content: str) -> Row:
        roll = self.rng.random()
        status = (
            CommentStatus.APPROVED
            if roll < 0.9
            else CommentStatus.PENDING
            if roll < 0.95
            else CommentStatus.DELETED
            if roll < 0.98
            else CommentStatus.REJECTED
        )
        return {
            "comment_id": 0,  # assigned in time order by the caller
            "user_id": self.rng.choice(self.user_ids),
            "article_id": article_id,
            "parent_id": parent["comment_id"] if parent else None,
            "like_count": 0,
            "reply_count": 0,
            "content": content,
            "is_top": False,
            "status": status,
            "create_time": when,
            "update_time": when,
        }

    def _comments(self, article: Row, topic: Topic, popularity: float, out: Batch) -> int:
        """Comments, then replies, each list with ids in time order; returns how many are visible."""
        rng, article_id = self.rng, article["article_id"]
        count = int(popularity * 10 + rng.random() * 1.6)
        times = sorted(between(rng, article["pubdate"], self.now) for _ in range(count))
        tops = [
            self._comment(article_id, None, when, text.comment(rng, topic, pool=self.texts))
            for when in times
        ]
        for row in tops:
            row["comment_id"] = self.ids.next_id()
        replies = []
        for top in tops:
            if top["status"] != CommentStatus.APPROVED:
                continue
            for _ in range(int(rng.random() ** 2 * 4)):
                when = between(rng, top["create_time"], self.now)
                replies.append(
                    self._comment(
                        article_id, top, when, text.comment(rng, topic, reply=True, pool=self.texts)
                    )
                )
        replies.sort(key=lambda r: r["create_time"])
        by_id = {top["comment_id"]: top for top in tops}
        for reply in replies:
            reply["comment_id"] = self.ids.next_id()
            if reply["status"] == CommentStatus.APPROVED:
                by_id[reply["parent_id"]]["reply_count"] += 1
        visible = [c for c in (*tops, *replies) if c["status"] == CommentStatus.APPROVED]
        for row in visible:
            self._comment_likes(row, out)
        out.comments.extend(tops)
        out.replies.extend(replies)
        return len(visible)

    def _comment_likes(self, comment: Row, out: Batch) -> None:
        rng = self.rng
        count = int(rng.random() ** 3 * 5)
        for uid in rng.sample(self.user_ids, min(count, len(self.user_ids))):
            deleted = rng.random() < 0.1
            comment["like_count"] += 0 if deleted else 1
            when = between(rng, comment["create_time"], self.now)
            out.comment_likes.append(
                {
                    "user_id": uid,
                    "comment_id": comment["comment_id"],
                    "is_deleted": deleted,
                    "create_time": when,
                    "update_time": when,
                }
            )
