"""An author's articles: list, read, write, delete, comment switch (mp.md §3.6-§3.11)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.api.deps import PrimaryReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.limits import body_limit
from toutiao.api.mp.deps import Author, WritingAuthor
from toutiao.api.mp.paging import ListPaging
from toutiao.api.mp.schemas.article import (
    ArticleBody,
    ArticleDetail,
    ArticleId,
    ArticlePage,
    CommentSwitch,
    CommentSwitched,
    Day,
    QueryFlag,
    ResponseType,
    timestamp,
)
from toutiao.api.responses import Envelope, no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import Id, StrictInt
from toutiao.content import lifecycle
from toutiao.content import service as content_service
from toutiao.content.policy import Actor
from toutiao.content.repository import ArticleFilter
from toutiao.content.service import AuthorArticle
from toutiao.runtime import Runtime
from toutiao.stats import authors as author_stats

router = GatedRouter()

Draft = Annotated[QueryFlag, Query(description="true: save as draft; false: publish")]


def _default_item(item: AuthorArticle) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "status": item.status,
        "pubdate": timestamp(item.pubdate),
        "cover": item.cover,
        "channel_id": item.channel_id,
        "comment_count": item.comment_count,
        "allow_comment": item.allow_comment,
        "reject_reason": item.reject_reason,  # a string when rejected (or banned), else null
    }


def _comment_item(item: AuthorArticle) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "total_comment_count": item.comment_count,
        "fans_comment_count": item.fans_comment_count,
        "comment_status": item.allow_comment,
    }


@router.get("/v1_0/articles", name="mp.articles", response_model=Envelope[ArticlePage])
async def list_articles(
    author: Author,
    runtime: RuntimeDep,
    session: PrimaryReadSessionDep,
    paging: ListPaging,
    status: Annotated[StrictInt | None, Query(ge=0, le=4, description="0-4; absent: 0-3")] = None,
    channel_id: StrictInt | None = None,
    begin_pubdate: Day | None = None,
    end_pubdate: Day | None = None,
    response_type: ResponseType | None = None,
) -> dict[str, Any]:
    """My articles, newest first; ``response_type=comment`` gives the comment screen's rows."""
    where = ArticleFilter(status, channel_id, begin_pubdate, end_pubdate)
    items, total = await content_service.author_articles(
        runtime, session, author, where, offset=paging.offset, limit=paging.per_page
    )
    if response_type == "statistic":
        return ok(paging.body(await _statistic_items(runtime, session, items), total))
    shape = _comment_item if response_type == "comment" else _default_item
    return ok(paging.body([shape(item) for item in items], total))


async def _statistic_items(
    runtime: Runtime, session: AsyncSession, items: list[AuthorArticle]
) -> list[dict[str, Any]]:
    """The default rows plus each article's counters (mp.md §6.4), read in one batch."""
    counts = await author_stats.articles_statistics(runtime, session, [i.id for i in items])
    rows = []
    for item in items:
        row = _default_item(item)
        row.update(
            {k: v for k, v in counts[item.id].items() if k not in ("article_id", "comment_count")}
        )
        rows.append(row)
    return rows


@router.get("/v1_0/search", name="mp.search", response_model=Envelope[ArticlePage])
async def search_my_articles(
    author: Author,
    runtime: RuntimeDep,
    session: PrimaryReadSessionDep,
    paging: ListPaging,
    q: Annotated[str, Query(min_length=1, max_length=50, description="words of the title")],
) -> dict[str, Any]:
    """Search my own articles by title, newest first (not deleted; the original's §8.2 item 7)."""
    items, total = await content_service.search_author_articles(
        runtime, session, author, q.strip(), offset=paging.offset, limit=paging.per_page
    )
    return ok(paging.body([_default_item(item) for item in items], total))


@router.get(
    "/v1_0/articles/{article_id:id}", name="mp.article", response_model=Envelope[ArticleDetail]
)
async def get_article(
    article_id: int, author: Author, session: PrimaryReadSessionDep
) -> dict[str, Any]:
    """One of my articles, for editing (deleted ones too)."""
    found = await content_service.author_article(session, Actor.author(author), article_id)
    detail = {
        "id": found.id,
        "title": found.title,
        "content": found.content,
        "cover": found.cover,
        "channel_id": found.channel_id,
        "status": found.status,
        "pubdate": timestamp(found.pubdate),
        "reject_reason": found.reject_reason,
    }
    return ok(detail)


@router.post(
    "/v1_0/articles",
    name="mp.article_create",
    status_code=201,
    response_model=Envelope[ArticleId],
    openapi_extra=body_limit("article"),
)
async def create_article(
    body: ArticleBody,
    author: WritingAuthor,
    runtime: RuntimeDep,
    session: SessionDep,
    draft: Draft = False,
) -> dict[str, Any]:
    """Write a new article: a draft, or submitted for review."""
    write = lifecycle.save_draft if draft else lifecycle.submit
    saved = await write(runtime, session, Actor.author(author), body.to_input())
    return ok({"id": saved.article_id})


@router.put(
    "/v1_0/articles/{article_id:id}",
    name="mp.article_update",
    status_code=201,
    response_model=Envelope[ArticleId],
    openapi_extra=body_limit("article"),
)
async def update_article(
    article_id: int,
    body: ArticleBody,
    author: WritingAuthor,
    runtime: RuntimeDep,
    session: SessionDep,
    draft: Draft = False,
) -> dict[str, Any]:
    """Replace one of my articles; it becomes a draft or goes back to review."""
    write = lifecycle.save_draft if draft else lifecycle.submit
    saved = await write(runtime, session, Actor.author(author), body.to_input(), article_id)
    return ok({"id": saved.article_id})


@router.delete(
    "/v1_0/articles/{article_id:id}",
    name="mp.article_delete",
    status_code=204,
    response_class=Response,
)
async def delete_article(
    article_id: int, author: WritingAuthor, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Delete one of my articles (again: still 204)."""
    await lifecycle.delete(runtime, session, [article_id], Actor.author(author))
    return no_content()


@router.put(
    "/v1_0/comments/status",
    name="mp.comment_status",
    status_code=201,
    response_model=Envelope[CommentSwitched],
)
async def switch_comments(
    article_id: Annotated[Id, Query(description="my article")],
    body: CommentSwitch,
    author: WritingAuthor,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Allow or forbid new comments on one of my articles."""
    allow = body.allow_comment
    await lifecycle.set_comments(runtime, session, Actor.author(author), article_id, allow)
    return ok({"article_id": article_id, "allow_comment": allow})
