"""One place that turns every failure into the contract's ``{"message": "<string>"}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from toutiao.api.limits import allowed_methods
from toutiao.api.responses import OrjsonResponse
from toutiao.engines.storage import StorageError
from toutiao.kit import metrics
from toutiao.kit.errors import ToutiaoError

log = logging.getLogger("toutiao.api")

_HTTP_MESSAGES = {
    404: "Not found.",
    405: "Method not allowed.",
}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> OrjsonResponse:
    return OrjsonResponse({"message": message}, status_code=status, headers=headers)


def describe_validation_error(errors: list[dict[str, Any]]) -> str:
    """``body.mobile: String should match pattern ...`` -> ``mobile: ...``, one line per field."""
    parts = []
    for error in errors[:5]:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc)
        text = str(error.get("msg", "invalid value"))
        text = text.removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            return "Request body is not valid JSON."
        parts.append(f"{field}: {text}" if field else text)
    return "; ".join(parts) or "Invalid request."


async def _on_toutiao_error(request: Request, exc: ToutiaoError) -> OrjsonResponse:
    if exc.status_code >= 500:
        log.error("request.failed path=%s message=%s", request.url.path, exc.message)
    return _error(exc.status_code, exc.message)


async def _on_validation_error(request: Request, exc: RequestValidationError) -> OrjsonResponse:
    message = describe_validation_error(list(exc.errors()))
    log.warning("request.invalid path=%s message=%s", request.url.path, message)
    return _error(400, message)


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Any:
    if exc.status_code == 204:
        return _error(204, "")
    detail = exc.detail if isinstance(exc.detail, str) else None
    message = (
        _HTTP_MESSAGES.get(exc.status_code)
        if detail in (None, "Not Found", "Method Not Allowed")
        else detail
    )
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        # Starlette names only the first route of the path; list every route's methods.
        headers["Allow"] = ", ".join(sorted(allowed_methods(request.scope) | {"OPTIONS"}))
    return _error(exc.status_code, message or "Request failed.", headers=headers or None)


async def _on_db_error(request: Request, exc: SQLAlchemyError) -> OrjsonResponse:
    metrics.dependency_error("database", "request")
    log.exception("db.error path=%s", request.url.path, exc_info=exc)
    return _error(507, "Database error, please try again later.")


async def _on_redis_error(request: Request, exc: RedisError) -> OrjsonResponse:
    metrics.dependency_error("redis", "request")
    log.exception("redis.error path=%s", request.url.path, exc_info=exc)
    return _error(507, "Storage service unavailable, please try again later.")


async def _on_storage_error(request: Request, exc: StorageError) -> OrjsonResponse:
    log.exception("storage.error path=%s", request.url.path, exc_info=exc)
    return _error(507, "Image save failed.")


async def _on_unexpected(request: Request, exc: Exception) -> OrjsonResponse:
    log.exception("request.crashed path=%s", request.url.path, exc_info=exc)
    return _error(500, "Internal server error.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ToutiaoError, _on_toutiao_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _on_db_error)  # type: ignore[arg-type]
    app.add_exception_handler(SQLAlchemyError, _on_db_error)  # type: ignore[arg-type]
    app.add_exception_handler(RedisError, _on_redis_error)  # type: ignore[arg-type]
    app.add_exception_handler(StorageError, _on_storage_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)
