"""Errors a service may raise; the API renders each as ``{"message": ...}`` with its status."""

from __future__ import annotations


class ToutiaoError(Exception):
    status_code = 500
    message = "Internal server error."

    def __init__(self, message: str | None = None, status_code: int | None = None) -> None:
        self.message = message or self.message
        if status_code is not None:
            self.status_code = status_code
        super().__init__(self.message)


class BadRequest(ToutiaoError):
    status_code = 400
    message = "Invalid request."


class Unauthorized(ToutiaoError):
    status_code = 401
    message = "User must be authorized."


class Forbidden(ToutiaoError):
    status_code = 403
    message = "Forbidden."


class NotFound(ToutiaoError):
    status_code = 404
    message = "Not found."


class Conflict(ToutiaoError):
    status_code = 409
    message = "Conflict."


class TooManyRequests(ToutiaoError):
    status_code = 429
    message = "Too many requests."


class Unavailable(ToutiaoError):
    """A dependency (database, storage) failed; the contract calls this 507."""

    status_code = 507
    message = "Unavailable service."
