"""Wire schemas of the mp login support and profile (mp.md §3.2-3.4, §6.8)."""

from __future__ import annotations

from pydantic import BaseModel


class SmsSent(BaseModel):
    mobile: str


class AccessToken(BaseModel):
    token: str
