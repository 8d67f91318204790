"""Collect, like, dislike, report and reading time of articles (app.md E35, E40-E46)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response

from toutiao.api.app.deps import CurrentUser, OptionalUser
from toutiao.api.app.schemas.article import (
    ReadingBody,
    ReportBody,
    ReportOut,
    TargetBody,
    TargetOut,
)
from toutiao.api.deps import ReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.responses import Envelope, MessageOnly, no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.article import attitude as attitude_service
from toutiao.article import collection as collection_service
from toutiao.article import reading as reading_service
from toutiao.models.enums import Attitude, ReportType

router = GatedRouter()

TraceHeader = Annotated[str | None, Header(alias="Trace", description="tracking parameter")]


@router.post(
    "/v1_0/article/collections",
    name="news.collections",
    status_code=201,
    response_model=Envelope[TargetOut],
)
async def collect_article(
    body: TargetBody,
    user_id: CurrentUser,
    runtime: RuntimeDep,
    session: SessionDep,
    trace: TraceHeader = None,
) -> dict[str, Any]:
    """Collect an article (idempotent); ``Trace`` carries the feed item's ``collect`` value."""
    await collection_service.collect(runtime, session, user_id, body.target, trace=trace)
    return ok({"target": body.target})


@router.delete(
    "/v1_0/article/collections/{target:id}",
    name="news.collections_delete",
    status_code=204,
    response_class=Response,
)
async def uncollect_article(
    target: int, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Remove a collection (idempotent)."""
    await collection_service.uncollect(runtime, session, user_id, target)
    return no_content()


@router.post(
    "/v1_0/article/likings",
    name="news.likings",
    status_code=201,
    response_model=Envelope[TargetOut],
)
async def like_article(
    body: TargetBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Like an article (replaces a dislike; idempotent)."""
    await attitude_service.set_attitude(runtime, session, user_id, body.target, Attitude.LIKE)
    return ok({"target": body.target})


@router.delete(
    "/v1_0/article/likings/{target:id}",
    name="news.likings_delete",
    status_code=204,
    response_class=Response,
)
async def unlike_article(
    target: int, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Remove my like (idempotent)."""
    await attitude_service.clear_attitude(runtime, session, user_id, target, Attitude.LIKE)
    return no_content()


@router.post(
    "/v1_0/article/dislikes",
    name="news.dislikes",
    status_code=201,
    response_model=Envelope[TargetOut],
)
async def dislike_article(
    body: TargetBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Dislike an article (replaces a like; idempotent)."""
    await attitude_service.set_attitude(runtime, session, user_id, body.target, Attitude.DISLIKE)
    return ok({"target": body.target})


@router.delete(
    "/v1_0/article/dislikes/{target:id}",
    name="news.dislikes_delete",
    status_code=204,
    response_class=Response,
)
async def undislike_article(
    target: int, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Remove my dislike (idempotent)."""
    await attitude_service.clear_attitude(runtime, session, user_id, target, Attitude.DISLIKE)
    return no_content()


@router.post(
    "/v1_0/article/reports",
    name="news.reports",
    status_code=201,
    response_model=Envelope[ReportOut],
)
async def report_article(
    body: ReportBody, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Report an article; 409 if I already reported it."""
    await attitude_service.report(
        runtime, session, user_id, body.target, ReportType(body.type), body.remark
    )
    return ok({"target": body.target, "type": body.type})


@router.post(
    "/v1_0/reading/durations",
    name="news.readingdurations",
    status_code=201,
    response_model=MessageOnly,
)
async def report_reading_duration(
    body: ReadingBody,
    user_id: OptionalUser,
    runtime: RuntimeDep,
    session: ReadSessionDep,
    trace: TraceHeader = None,
) -> dict[str, Any]:
    """Report how long an article was read; the ``Trace`` header is required."""
    await reading_service.record_reading(
        runtime, session, user_id, body.art_id, body.duration, trace
    )
    return {"message": "OK"}
