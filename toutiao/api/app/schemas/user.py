"""Wire schemas of the user endpoints (app.md E09-E17)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from toutiao.api.types import StrictInt
from toutiao.user.names import check_name

ID_NUMBER_RE = r"^(\d{17}[\dXx]|\d{15})$"


def _parse_birthday(value: Any) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date in YYYY-MM-DD form")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("must be a valid date in YYYY-MM-DD form") from exc
    if parsed > date.today() or parsed.year < 1900:  # noqa: DTZ011 - a calendar date, no zone
        raise ValueError("must be a date between 1900 and today")
    return parsed


def _check_text(value: Any) -> Any:
    if isinstance(value, str) and value != value.strip():
        return value.strip()
    return value


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mobile: Annotated[str, Field(pattern=r"^1[3-9]\d{9}$", description="Mobile number")]
    code: Annotated[str, Field(pattern=r"^\d{6}$", description="6-digit SMS code")]


class TokenPair(BaseModel):
    token: str
    refresh_token: str


Name = Annotated[
    str,
    BeforeValidator(_check_text),
    StringConstraints(min_length=1, max_length=7),
    AfterValidator(check_name),
]
Intro = Annotated[str, BeforeValidator(_check_text), StringConstraints(max_length=60)]
Base64Image = Annotated[str, Field(min_length=1, description="base64 image or data: URI")]


class ProfileUpdate(BaseModel):
    """Every field optional; only the fields sent are saved (null counts as not sent)."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    photo: Base64Image | None = None
    gender: Annotated[StrictInt, Field(ge=0, le=1)] | None = None
    birthday: Annotated[date, BeforeValidator(_parse_birthday)] | None = None
    real_name: Name | None = None
    id_number: Annotated[str, Field(pattern=ID_NUMBER_RE)] | None = None
    id_card_front: Base64Image | None = None
    id_card_back: Base64Image | None = None
    id_card_handheld: Base64Image | None = None
    intro: Intro | None = None

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_none=True)
        if "id_number" in values:
            values["id_number"] = values["id_number"].upper()
        return values


class SmsSent(BaseModel):
    mobile: str


class AccessToken(BaseModel):
    token: str


class UserCard(BaseModel):
    id: int
    name: str
    photo: str | None
    is_media: int
    intro: str
    certi: str
    art_count: int
    follow_count: int
    fans_count: int
    like_count: int


class OtherUserCard(UserCard):
    is_following: bool
    is_blacklist: bool


class MyProfile(BaseModel):
    id: int
    name: str
    photo: str | None
    mobile: str
    gender: int
    birthday: str | None
    intro: str


class Figure(BaseModel):
    fans_count: int
    read_count: int


class ProfileUpdated(BaseModel):
    """``id`` plus exactly the fields that were updated (images as URLs)."""

    model_config = ConfigDict(extra="allow")

    id: int
