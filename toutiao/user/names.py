"""User names: the default a new account gets, and what a name may contain.

A new account is never named after its mobile number (the number would then be shown to
everyone on its comments, notifications and card); it gets ``用户`` plus five characters
derived from its id. Accounts made before that rule are shown the same way while their name
still equals their mobile.
"""

from __future__ import annotations

import unicodedata

_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
# Bidirectional overrides, embeddings, isolates and marks: they reorder the text around them.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_LINE_BREAKS = frozenset("\u2028\u2029\u0085")


def default_name(user_id: int) -> str:
    """A stable, non-identifying name: ``用户`` + 5 characters from a scramble of the id."""
    scrambled = (user_id * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (2**64)
    chars = []
    for _ in range(5):
        scrambled, digit = divmod(scrambled, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "用户" + "".join(chars)


def public_name(user_id: int, user_name: str | None, mobile: str | None) -> str:
    """The name others may see: never the mobile number."""
    if not user_name or (mobile and user_name.strip() == mobile):
        return default_name(user_id)
    return user_name


def check_name(value: str) -> str:
    """Refuse control characters (NUL, newlines, tabs...), line separators, bidi overrides and
    unpaired surrogates in a display name; returns the name unchanged otherwise."""
    for char in value:
        category = unicodedata.category(char)
        if category in {"Cc", "Cs", "Co", "Cn"} or char in _BIDI_CONTROLS or char in _LINE_BREAKS:
            raise ValueError(f"must not contain the character U+{ord(char):04X}")
    return value
