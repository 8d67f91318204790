"""Rows for recommender tests, committed through the real engines."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from toutiao.models import (
    Article,
    ArticleAttitude,
    ArticleContent,
    Channel,
    Collection,
    User,
    UserRelation,
)
from toutiao.models.base import local_now
from toutiao.models.enums import ArticleStatus, Attitude, Relation
from toutiao.runtime import Runtime

_mobiles = itertools.count(13900000000)

TOPICS = {
    "db": ("数据库", "索引", "事务", "主从复制", "分库分表", "慢查询", "连接池", "存储引擎"),
    "ball": ("足球", "联赛", "进球", "球队", "主教练", "点球", "转会", "射门"),
    "food": ("美食", "火锅", "面条", "厨师", "菜谱", "调料", "餐厅", "甜点"),
}


def topical_text(topic: str, seed: int) -> tuple[str, str]:
    """A title and an HTML body dense in the topic's words (deterministic per seed)."""
    words = TOPICS[topic]
    pick = [words[(seed + i * 3) % len(words)] for i in range(6)]
    title = f"{pick[0]}与{pick[1]}的实践"
    sentences = "".join(
        f"<p>关于{a}和{b}，我们讨论了{c}。</p>"
        for a, b, c in zip(pick, pick[1:], pick[2:], strict=False)
    )
    return title, f"<div>{sentences}<p>{'，'.join(words)}。</p></div>"


class RecoData:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def _add(self, *rows: Any) -> None:
        async with self.runtime.db.session() as session:
            session.add_all(rows)
            await session.commit()

    async def user(self) -> int:
        user_id = self.runtime.ids.next_id()
        mobile = str(next(_mobiles))
        await self._add(User(user_id=user_id, mobile=mobile, user_name=mobile))
        return user_id

    async def channels(self, count: int, *, hidden: int = 0) -> list[int]:
        start = next(_mobiles)
        rows = [
            Channel(channel_name=f"ch{start}-{i}", sequence=i, is_visible=i < count - hidden)
            for i in range(count)
        ]
        await self._add(*rows)
        return [row.channel_id for row in rows]

    async def article(
        self,
        *,
        author: int,
        channel: int,
        title: str = "一篇文章",
        content: str = "<p>正文</p>",
        status: ArticleStatus = ArticleStatus.APPROVED,
        pubdate: datetime | None = None,
        age: timedelta = timedelta(hours=1),
    ) -> int:
        article_id = self.runtime.ids.next_id()
        when = pubdate or (local_now() - age)
        approved = status == ArticleStatus.APPROVED
        await self._add(
            Article(
                article_id=article_id,
                user_id=author,
                channel_id=channel,
                title=title,
                status=status,
                pubdate=when if approved else None,
                create_time=when,
            ),
            ArticleContent(article_id=article_id, content=content),
        )
        return article_id

    async def articles(self, count: int, **kw: Any) -> list[int]:
        base = kw.pop("age", timedelta(hours=1))
        return [
            await self.article(age=base + timedelta(minutes=i), title=f"文章{i}", **kw)
            for i in range(count)
        ]

    async def set_status(self, article_id: int, status: ArticleStatus) -> None:
        async with self.runtime.db.session() as session:
            article = await session.get(Article, article_id)
            assert article is not None
            article.status = status
            await session.commit()

    async def attitude(self, user: int, article: int, attitude: Attitude) -> None:
        await self._add(ArticleAttitude(user_id=user, article_id=article, attitude=attitude))

    async def collect(self, user: int, article: int) -> None:
        await self._add(Collection(user_id=user, article_id=article))

    async def blacklist(self, user: int, target: int) -> None:
        await self._add(
            UserRelation(user_id=user, target_user_id=target, relation=Relation.BLACKLIST)
        )
