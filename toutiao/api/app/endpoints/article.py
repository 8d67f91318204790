"""Feeds and article detail (app.md E32-E34)."""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from toutiao.api.app.deps import OptionalUser, OptionalViewer, Viewer
from toutiao.api.app.schemas.feed import ArticleDetail, FeedPage, FeedV10Page
from toutiao.api.deps import ReadSessionDep, RuntimeDep, runtime_of
from toutiao.api.responses import Envelope, ok, ok_response
from toutiao.article.detail import article_detail
from toutiao.article.feed import channel_feed
from toutiao.kit.errors import BadRequest

router = APIRouter()

MAX_TIMESTAMP = 2**53


def _int(name: str, value: str, *, minimum: int, maximum: int = 2**63 - 1) -> int:
    text = value.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise BadRequest(f"{name}: must be an integer")
    number = int(text)
    if not minimum <= number <= maximum:
        raise BadRequest(f"{name}: must be between {minimum} and {maximum}")
    return number


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


@router.get("/v1_1/articles", name="news.articles_v1_1", response_model=Envelope[FeedPage])
async def get_feed(
    request: Request,
    session: ReadSessionDep,
    viewer: OptionalViewer,
    channel_id: Annotated[str, Query(description="channel id; 0 = recommended (all channels)")],
    timestamp: Annotated[str, Query(description="ms; now for fresh, pre_timestamp for older")],
    with_top: Annotated[str, Query(description="1 to prepend pinned articles")],
) -> Response:
    """Channel feed paged by timestamp: pinned articles, then the reader's recommendations."""
    page = await channel_feed(
        runtime_of(request),
        session,
        viewer=_viewer(viewer, request),
        channel_id=_int("channel_id", channel_id, minimum=0),
        timestamp=_int("timestamp", timestamp, minimum=1, maximum=MAX_TIMESTAMP),
        with_top=_flag("with_top", with_top),
    )
    return ok_response(page)


@router.get("/v1_0/articles", name="news.articles", response_model=Envelope[FeedV10Page])
async def get_feed_v1_0(
    request: Request,
    session: ReadSessionDep,
    viewer: OptionalViewer,
    channel_id: Annotated[str, Query()],
    page: Annotated[str, Query()] = "1",
    per_page: Annotated[str, Query()] = "10",
) -> Response:
    """Channel feed paged by page number: pinned articles on page 1, then fresh recommendations."""
    number = _int("page", page, minimum=1)
    size = _int("per_page", per_page, minimum=1, maximum=50)
    result = await channel_feed(
        runtime_of(request),
        session,
        viewer=_viewer(viewer, request),
        channel_id=_int("channel_id", channel_id, minimum=0),
        timestamp=int(time.time() * 1000),
        with_top=number == 1,
        count=size,
    )
    return ok_response({"page": number, "per_page": size, "results": result["results"]})


@router.get(
    "/v1_0/articles/{article_id:id}", name="news.article", response_model=Envelope[ArticleDetail]
)
async def get_article(
    article_id: int,
    runtime: RuntimeDep,
    session: ReadSessionDep,
    user_id: OptionalUser,
    trace: Annotated[str | None, Header(alias="Trace")] = None,
) -> dict[str, Any]:
    """Article detail; records the read for the caller (history, counters, click event)."""
    return ok(
        await article_detail(runtime, session, article_id=article_id, user_id=user_id, trace=trace)
    )
