"""Wire schemas of the channel endpoints (app.md E24-E31)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from toutiao.api.types import Id, StrictInt

# The column is a 32-bit INT: a larger seq is a 400, not a database error (507/500).
SEQ_MAX = 2**31 - 1
Seq = Annotated[StrictInt, Field(ge=0, le=SEQ_MAX, description="order number, 0 <= seq < 2**31")]


class ChannelOut(BaseModel):
    id: int
    name: str


class ChannelList(BaseModel):
    channels: list[ChannelOut]


class UserChannelItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Id
    seq: Seq


class UserChannelsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channels: Annotated[list[UserChannelItem], Field(min_length=1, max_length=200)]

    def items(self) -> list[tuple[int, int]]:
        return [(item.id, item.seq) for item in self.channels]


class UserChannelsOut(BaseModel):
    channels: list[UserChannelItem]


class ChannelIdsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channels: Annotated[list[Id], Field(min_length=1, max_length=200)]


class SeqBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    seq: Seq


class UserChannelOut(BaseModel):
    id: int
    seq: int
