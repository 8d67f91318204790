"""Wire schemas of the mp login support and profile (mp.md §3.2-3.4, §6.8)."""

from __future__ import annotations

from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    field_validator,
)

from toutiao.user.names import check_name
from toutiao.user.profile import AuthorProfileChanges


class SmsSent(BaseModel):
    mobile: str


class AccessToken(BaseModel):
    token: str


def _trimmed(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


# The user domain's rule for display names (no control or bidi characters), at mp's length.
Name = Annotated[
    str,
    BeforeValidator(_trimmed),
    StringConstraints(min_length=1, max_length=32),
    AfterValidator(check_name),
]
Intro = Annotated[str, BeforeValidator(_trimmed), StringConstraints(max_length=50)]
Email = Annotated[str, BeforeValidator(_trimmed), StringConstraints(max_length=100)]


class AuthorProfile(BaseModel):
    id: int
    name: str
    photo: str
    mobile: str
    intro: str
    email: str
    gender: int
    birthday: str | None


class AuthorProfileChange(BaseModel):
    """The front end sends all three fields; absent ones stay as they are."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    intro: Intro | None = None
    email: Email | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return value
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError("must be a valid e-mail address") from exc

    def changes(self) -> AuthorProfileChanges:
        changes: AuthorProfileChanges = {}
        if self.name is not None:
            changes["name"] = self.name
        if self.intro is not None:
            changes["intro"] = self.intro
        if self.email is not None:
            changes["email"] = self.email
        return changes


class AuthorProfileUpdated(BaseModel):
    id: int
    name: str
    intro: str
    email: str


class AvatarChanged(BaseModel):
    id: int
    photo: str
