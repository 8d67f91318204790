"""The demo editor's own recent articles, one or more in every status the publishing front
end shows (draft, pending review, approved, rejected with a reason, deleted), and a handful
of sensitive words, so every authoring screen has something real on first login."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from toutiao.kit.ids import Snowflake
from toutiao.models.enums import ArticleStatus, CoverType
from toutiao.seed import text
from toutiao.seed.words import Topic

Row = dict[str, Any]
S = ArticleStatus

# (status, hours ago), oldest first so ids grow with time.
SHELF = (
    (S.APPROVED, 30.0),
    (S.DELETED, 26.0),
    (S.REJECTED, 20.0),
    (S.APPROVED, 8.0),
    (S.PENDING, 3.0),
    (S.DRAFT, 0.5),
)
REJECT_REASON = "标题与内容不符，请修改后重新提交"
SENSITIVE_WORDS = (
    ("赌博", 10),
    ("博彩", 10),
    ("代开发票", 10),
    ("办证", 6),
    ("刷单", 6),
    ("高利贷", 8),
    ("传销", 10),
)


def _cover(rng: random.Random, cover_urls: list[str]) -> dict[str, Any]:
    if not cover_urls:
        return {"type": int(CoverType.NONE), "images": []}
    return {"type": int(CoverType.ONE), "images": [rng.choice(cover_urls)]}


def _times(status: ArticleStatus, when: datetime) -> Row:
    times: Row = {
        "create_time": when,
        "update_time": when,
        "pubdate": None,
        "review_time": None,
        "delete_time": None,
        "reject_reason": None,
    }
    later = when + timedelta(minutes=40)
    if status == S.APPROVED:
        times.update(pubdate=later, review_time=later, update_time=later)
    elif status == S.REJECTED:
        times.update(review_time=later, update_time=later, reject_reason=REJECT_REASON)
    elif status == S.DELETED:
        times.update(delete_time=later, update_time=later)
    return times


def editor_shelf(
    rng: random.Random,
    ids: Snowflake,
    now: datetime,
    editor_id: int,
    channels: list[tuple[int, Topic]],
    cover_urls: list[str],
) -> tuple[list[Row], list[Row]]:
    """``(article rows, content rows)`` of the editor's shelf."""
    articles, contents = [], []
    for index, (status, hours) in enumerate(SHELF):
        channel_id, topic = channels[index % len(channels)]
        when = (now - timedelta(hours=hours)).replace(microsecond=0)
        cover = _cover(rng, cover_urls)
        row = {
            "article_id": ids.next_id(),
            "user_id": editor_id,
            "channel_id": channel_id,
            "title": text.title(rng, topic)[:30],
            "cover": cover,
            "is_advertising": False,
            "status": status,
            "allow_comment": True,
            "comment_count": 0,
            **_times(status, when),
        }
        articles.append(row)
        image = cover["images"][0] if cover["images"] else None
        contents.append(
            {
                "article_id": row["article_id"],
                "content": text.body(rng, topic, image),
                "create_time": when,
                "update_time": row["update_time"],
            }
        )
    return articles, contents


def sensitive_word_rows(now: datetime) -> list[Row]:
    return [
        {"word": word, "weights": weights, "hold_count": 0, "create_time": now, "update_time": now}
        for word, weights in SENSITIVE_WORDS
    ]
