"""Author analytics when Redis is down: the snapshot table and SQL counts answer."""

from __future__ import annotations

from tests.comment.test_service import redis_down_runtime
from toutiao.models import ArticleStatistic, Comment
from toutiao.models.enums import ArticleStatus, CommentStatus
from toutiao.stats import authors


async def test_statistics_and_summary_without_redis(runtime, settings, factory):
    author = await factory.user()
    reader = await factory.user()
    [channel] = await factory.channels(["tech"])
    article = await factory.article(author.user_id, channel.channel_id)
    await factory.article(author.user_id, channel.channel_id, status=ArticleStatus.DRAFT)
    async with runtime.db.session() as session:
        session.add(
            ArticleStatistic(
                article_id=article, read_count=7, like_count=2, repost_count=1, fans_comment_count=1
            )
        )
        for status in (CommentStatus.APPROVED, CommentStatus.APPROVED, CommentStatus.DELETED):
            session.add(
                Comment(
                    comment_id=runtime.ids.next_id(),
                    user_id=reader.user_id,
                    article_id=article,
                    content="hi",
                    status=status,
                )
            )
        await session.commit()
    async with redis_down_runtime(settings) as down, down.db.session() as session:
        stats = await authors.article_statistics(down, session, author.user_id, article)
        summary = await authors.author_summary(down, session, author.user_id)
    assert stats == {
        "article_id": article,
        "read_count": 7,
        "like_count": 2,
        "dislike_count": 0,
        "collect_count": 0,
        "repost_count": 1,
        "comment_count": 2,
        "fans_comment_count": 1,
    }
    assert (summary["article_count"], summary["approved_count"], summary["draft_count"]) == (
        2,
        1,
        1,
    )
    assert (summary["comment_count"], summary["fans_count"], summary["read_count"]) == (2, 0, 0)
