"""Search, suggestions and search history (app.md E04-E07).

When the search engine is down, search and suggestions answer 503; nothing else depends on it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response

from toutiao.api.app.deps import CurrentUser, OptionalUser
from toutiao.api.app.paging import PagingDep
from toutiao.api.app.schemas.search import SearchHistory, SearchPage, SuggestionOut
from toutiao.api.deps import ReadSessionDep, RuntimeDep, runtime_of
from toutiao.api.query import QueryParam, query_doc, read_query
from toutiao.api.responses import Envelope, no_content, ok, ok_response
from toutiao.api.routing import GatedRouter
from toutiao.search import service as search_service

router = GatedRouter()

QueryText = Annotated[
    str,
    Query(min_length=1, max_length=search_service.QUERY_MAX, description="1-50 characters"),
]


# Taken from the request like the feeds' (``toutiao.api.query``): a suggestion is asked at
# every keystroke.
SUGGEST_QUERY = (
    QueryParam(
        "q",
        "1-50 characters",
        schema=(("type", "string"), ("minLength", 1), ("maxLength", search_service.QUERY_MAX)),
    ),
)


@router.get(
    "/v1_0/suggestion",
    name="news.suggestion",
    response_model=Envelope[SuggestionOut],
    openapi_extra=query_doc(*SUGGEST_QUERY),
)
async def get_suggestions(request: Request) -> Response:
    """Up to 10 completions of what was typed (popular queries, titles), else a correction."""
    (q,) = read_query(request, SUGGEST_QUERY)
    return ok_response({"options": await search_service.suggest(runtime_of(request), q)})


@router.get("/v1_0/search", name="news.search", response_model=Envelope[SearchPage])
async def search_articles(
    q: QueryText,
    paging: PagingDep,
    user_id: OptionalUser,
    runtime: RuntimeDep,
    session: ReadSessionDep,
) -> Response:
    """Articles matching ``q``, most relevant first, newest first among equals."""
    page = await search_service.search_articles(
        runtime, session, user_id, q, page=paging.page, per_page=paging.per_page
    )
    return ok_response(page)


@router.get(
    "/v1_0/search/histories",
    name="user.search_histories",
    response_model=Envelope[SearchHistory],
)
async def get_search_history(user_id: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    """My last 10 distinct search keywords, newest first."""
    return ok({"keywords": await search_service.history(runtime, user_id)})


@router.delete(
    "/v1_0/search/histories",
    name="user.search_histories_delete",
    status_code=204,
    response_class=Response,
)
async def clear_search_history(user_id: CurrentUser, runtime: RuntimeDep) -> Response:
    """Forget my search history (204 even when it is empty)."""
    await search_service.clear_history(runtime, user_id)
    return no_content()
