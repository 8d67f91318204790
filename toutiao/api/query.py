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

from toutiao.api.types import parse_id
from toutiao.kit.errors import BadRequest


@dataclass(frozen=True)
class QueryParam:
    """A query parameter, read as a string; ``default`` None: required. ``schema`` and
    ``where`` only shape its description in the OpenAPI document (a path parameter or a
    header can be described the same way)."""

    name: str
    description: str | None = None
    default: str | None = None
    schema: tuple[tuple[str, Any], ...] = (("type", "string"),)  # what the OpenAPI says it takes
    where: str = "query"  # or "path", "header"

    def doc(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"title": self.name.replace("_", " ").title(), **dict(self.schema)}
        param: dict[str, Any] = {"name": self.name, "in": self.where}
        if self.description is not None:
            param["description"] = schema["description"] = self.description
        if self.default:  # as the schema's type says ("" is "not sent", not a default)
            integer = schema.get("type") == "integer" and self.default.isdigit()
            schema["default"] = int(self.default) if integer else self.default
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
    """``openapi_extra`` describing ``params`` as the route's parameters."""
    return {"parameters": [p.doc() for p in params]}


def query_int(name: str, value: str, *, minimum: int, maximum: int = 2**63 - 1) -> int:
    """A decimal integer parameter within bounds, else a 400 naming it."""
    text = value.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise BadRequest(f"{name}: must be an integer")
    number = int(text) if len(text) <= 40 else None  # Python refuses 4,300 digits and more
    if number is None or not minimum <= number <= maximum:
        raise BadRequest(f"{name}: must be between {minimum} and {maximum}")
    return number


def query_id(name: str, value: str) -> int:
    """An id parameter (a positive 64-bit integer, as :func:`toutiao.api.types.parse_id`
    takes it), else a 400 naming it."""
    try:
        return parse_id(value)
    except ValueError as exc:
        raise BadRequest(f"{name}: {exc}") from None
