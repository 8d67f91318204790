"""Feeds and article detail (app.md E32-E34)."""

from __future__ import annotations

import hashlib
import time

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.api.app.deps import (
    Viewer,
    get_optional_user,
    get_optional_viewer,
    read_session_and_user,
)
from toutiao.api.app.schemas.feed import ArticleDetail, FeedPage, FeedV10Page
from toutiao.api.deps import (
    get_db_read_session,
    read_credentials,
    runtime_of,
)
from toutiao.api.openapi import auth_doc
from toutiao.api.query import QueryParam, query_doc, query_int, read_query
from toutiao.api.responses import Envelope, ok_response
from toutiao.api.routing import GatedRouter
from toutiao.article.detail import article_detail
from toutiao.article.feed import channel_feed
from toutiao.kit.errors import BadRequest

router = GatedRouter()

MAX_TIMESTAMP = 2**53


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true"):
        return True
    if lowered in ("0", "false"):
        return False
    raise BadRequest(f"{name}: must be 0 or 1")


def _viewer(viewer: Viewer, request: Request) -> str:
    """The recommender's user id; anonymous devices are namespaced so an ``Anony <user id>``
    header can't read a real user's history. A reader without any header pages under an id
    derived from its address and User-Agent, so it too gets new articles on every pull and
    a history to scroll back through."""
    if viewer.user_id is not None:
        return str(viewer.user_id)
    if viewer.anonymous_id:
        return f"anon:{viewer.anonymous_id}"
    host = request.client.host if request.client else ""
    agent = request.headers.get("user-agent", "")
    digest = hashlib.blake2b(f"{host}|{agent}".encode(errors="replace"), digest_size=8)
    return f"anon:net:{digest.hexdigest()}"


# The feeds take only the request: they are the most requested pages, and FastAPI's solving
# of three query parameters, a read session and the caller was 6 % of a batch's CPU
# (``toutiao.api.query``). The OpenAPI document describes them as if declared.
FEED_QUERY = (
    QueryParam("channel_id", "channel id; 0 = recommended (all channels)"),
    QueryParam("timestamp", "ms; now for fresh, pre_timestamp for older"),
    QueryParam("with_top", "1 to prepend pinned articles"),
)
FEED_V1_0_QUERY = (
    QueryParam("channel_id"),
    QueryParam("page", default="1"),
    QueryParam("per_page", default="10"),
)


async def _feed_caller(request: Request) -> tuple[AsyncSession, str]:
    """The read session and the recommender's user id of a feed request."""
    session = await get_db_read_session(request)
    viewer = await get_optional_viewer(request, await read_credentials(request))
    return session, _viewer(viewer, request)


@router.get(
    "/v1_1/articles",
    name="news.articles_v1_1",
    response_model=Envelope[FeedPage],
    openapi_extra={**query_doc(*FEED_QUERY), **auth_doc(get_optional_viewer)},
)
async def get_feed(request: Request) -> Response:
    """Channel feed paged by timestamp: pinned articles, then the reader's recommendations."""
    session, viewer = await _feed_caller(request)  # a bad token is a 401 before a bad query
    channel_id, timestamp, with_top = read_query(request, FEED_QUERY)
    page = await channel_feed(
        runtime_of(request),
        session,
        viewer=viewer,
        channel_id=query_int("channel_id", channel_id, minimum=0),
        timestamp=query_int("timestamp", timestamp, minimum=1, maximum=MAX_TIMESTAMP),
        with_top=_flag("with_top", with_top),
    )
    return ok_response(page)


@router.get(
    "/v1_0/articles",
    name="news.articles",
    response_model=Envelope[FeedV10Page],
    openapi_extra={**query_doc(*FEED_V1_0_QUERY), **auth_doc(get_optional_viewer)},
)
async def get_feed_v1_0(request: Request) -> Response:
    """Channel feed paged by page number: pinned articles on page 1, then fresh recommendations."""
    session, viewer = await _feed_caller(request)
    channel_id, page, per_page = read_query(request, FEED_V1_0_QUERY)
    number = query_int("page", page, minimum=1)
    size = query_int("per_page", per_page, minimum=1, maximum=50)
    result = await channel_feed(
        runtime_of(request),
        session,
        viewer=viewer,
        channel_id=query_int("channel_id", channel_id, minimum=0),
        timestamp=int(time.time() * 1000),
        with_top=number == 1,
        count=size,
    )
    return ok_response({"page": number, "per_page": size, "results": result["results"]})


# Taken from the request like the feeds' (``toutiao.api.query``): the detail is the page read
# most after them.
DETAIL_PARAMS = (
    QueryParam("article_id", where="path", schema=(("type", "integer"),)),
    QueryParam("Trace", "the feed item's read trace", default="", where="header"),
)


@router.get(
    "/v1_0/articles/{article_id:id}",
    name="news.article",
    response_model=Envelope[ArticleDetail],
    openapi_extra={**query_doc(*DETAIL_PARAMS), **auth_doc(get_optional_user)},
)
async def get_article(request: Request) -> Response:
    """Article detail; records the read for the caller (history, counters, click event)."""
    session, user_id = await read_session_and_user(request)
    return ok_response(
        await article_detail(
            runtime_of(request),
            session,
            article_id=request.path_params["article_id"],
            user_id=user_id,
            trace=request.headers.get("trace"),
        )
    )
