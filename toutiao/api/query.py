"""Query parameters read by the handler, for the few routes where FastAPI's solving shows.

FastAPI solves a route's declared parameters and dependencies on every request. On the feed,
the most requested page, that was about 63 µs of CPU a request (three query parameters, a
read session and the caller), against 10 µs for a handler that takes only the request; the
feed's own work is about a millisecond. Such a route takes the request, reads its query with
:func:`read_query` and calls its dependencies itself, and declares
``openapi_extra=query_doc(...)`` so that the OpenAPI document describes the parameters as if
they were declared (with :func:`toutiao.api.openapi.auth_doc` for its caller).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from toutiao.kit.errors import BadRequest


@dataclass(frozen=True)
class QueryParam:
    """A string query parameter; ``default`` None: required."""

    name: str
    description: str | None = None
    default: str | None = None

    def doc(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"title": self.name.replace("_", " ").title(), "type": "string"}
        param: dict[str, Any] = {"name": self.name, "in": "query"}
        if self.description is not None:
            param["description"] = schema["description"] = self.description
        if self.default is not None:
            schema["default"] = self.default
        param["required"] = self.default is None
        param["schema"] = schema
        return param


def read_query(request: Request, params: Sequence[QueryParam]) -> list[str]:
    """The values of ``params`` (the last one of a repeated parameter, as FastAPI reads it);
    missing required ones are the 400 that declared parameters give."""
    query = request.query_params
    values = [query.get(p.name, p.default) for p in params]
    missing = [
        f"{p.name}: Field required" for p, v in zip(params, values, strict=True) if v is None
    ]
    if missing:
        raise BadRequest("; ".join(missing[:5]))
    return [v for v in values if v is not None]


def query_doc(*params: QueryParam) -> dict[str, Any]:
    """``openapi_extra`` describing ``params`` as the route's query parameters."""
    return {"parameters": [p.doc() for p in params]}
