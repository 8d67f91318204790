"""JSON on the wire: orjson (exact 64-bit integers) and the contract's envelope."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

T = TypeVar("T")


class OrjsonResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def ok(data: Any) -> dict[str, Any]:
    """The success envelope: ``{"message": "OK", "data": ...}``."""
    return {"message": "OK", "data": data}


def ok_response(data: Any) -> Response:
    """The success envelope written straight to bytes, for the hottest pages: a route that
    returns it skips FastAPI's validation of its response model against the data (the model
    still documents the route, and the contract tests hold the data to it)."""
    return OrjsonResponse(ok(data))


def no_content() -> Response:
    """DELETEs answer 204 with an empty body (not even ``{"message": ...}``)."""
    return Response(status_code=204)


class Envelope(BaseModel, Generic[T]):
    """``{"message": "OK", "data": ...}``: the success body of every app endpoint."""

    message: str = "OK"
    data: T


class MessageOnly(BaseModel):
    message: str
