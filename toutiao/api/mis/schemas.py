"""Request bodies shared by several /mis endpoints, and field rules (mis.md M06, M08)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from toutiao.api.types import MOBILE_RE

ACCOUNT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,15}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _account(value: str) -> str:
    if not ACCOUNT_RE.match(value):
        raise ValueError("a letter, then 3-15 letters, digits or underscores")
    return value


def _staff_name(value: str) -> str:
    if not 1 <= len(value.strip()) <= 20 or len(value) > 20:
        raise ValueError("1-20 characters")
    return value


def _email(value: str) -> str | None:
    if value == "":
        return None
    if len(value) > 30 or not EMAIL_RE.match(value):
        raise ValueError("an email address of at most 30 characters")
    return value


def _mobile(value: str) -> str | None:
    if value == "":
        return None
    if not MOBILE_RE.match(value):
        raise ValueError("a mainland mobile number")
    return value


def _required(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


Account = Annotated[str, AfterValidator(_account)]
StaffName = Annotated[str, AfterValidator(_staff_name)]
Email = Annotated[str, AfterValidator(_email)]  # "" -> None: clears the field
Mobile = Annotated[str, AfterValidator(_mobile)]
NonEmpty = Annotated[str, AfterValidator(_required)]


class Body(BaseModel):
    """Strict JSON bodies: wrong types are 400; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    def sent(self) -> dict[str, Any]:
        """Only the fields the client sent."""
        return {name: getattr(self, name) for name in self.model_fields_set}
