"""Input types shared by the three HTTP surfaces.

Ids are 64-bit integers; clients send them as JSON integers or as decimal strings (the
reference client uses ``id.toString()``). Booleans, floats, other strings and values <= 0
are refused.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator
from starlette.convertors import Convertor, register_url_convertor

MAX_ID = 2**63 - 1
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def parse_id(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a positive integer id")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise ValueError("must be a positive integer id")
    if not 0 < number <= MAX_ID:
        raise ValueError("must be a positive integer id")
    return number


def parse_int(value: Any) -> int:
    """A strict integer: JSON integers or decimal strings, never booleans or floats."""
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        return int(value)
    raise ValueError("must be an integer")


Id = Annotated[int, BeforeValidator(parse_id)]
StrictInt = Annotated[int, BeforeValidator(parse_int)]


class IdConvertor(Convertor[int]):
    """Path ids: a positive decimal of at most 19 digits; anything else does not match (404)."""

    regex = "[1-9][0-9]{0,18}"

    def convert(self, value: str) -> int:
        # 19 digits can exceed BIGINT; such an id names nothing, so it becomes 0 (never a row).
        number = int(value)
        return number if number <= MAX_ID else 0

    def to_string(self, value: int) -> str:
        return str(value)


class MobileConvertor(Convertor[str]):
    regex = r"1[3-9][0-9]{9}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def register_convertors() -> None:
    register_url_convertor("id", IdConvertor())
    register_url_convertor("mobile", MobileConvertor())


def parse_query_bool(value: Any) -> bool:
    """``true``/``false`` as axios writes them in a query string, or ``1``/``0``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError("must be true or false")


QueryBool = Annotated[bool, BeforeValidator(parse_query_bool)]
