"""Wire schemas of the mp sign-in (mp.md §3.1)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class MpLoginBody(BaseModel):
    # The front end also sends ``agree`` (its terms checkbox): ignored, as is anything else.
    model_config = ConfigDict(extra="ignore")

    mobile: Annotated[str, Field(pattern=r"^1[3-9]\d{9}$", description="Mobile number")]
    code: Annotated[str, Field(pattern=r"^\d{6}$", description="6-digit SMS code")]


class MpTokens(BaseModel):
    token: str
    refresh_token: str


class MpChannel(BaseModel):
    id: int
    name: str


class MpChannelList(BaseModel):
    channels: list[MpChannel]
