"""Password hashes (staff, and app users created by staff): argon2id, with the original's werkzeug ``pbkdf2:sha256`` still read.

A legacy hash is accepted once and replaced at that login (:func:`needs_upgrade`).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

POLICY = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)\S{8,64}$")
LEGACY_DEFAULT_ITERATIONS = 50_000  # werkzeug's default when the method names none


def meets_policy(password: str) -> bool:
    """8-64 non-space characters with at least one letter and one digit (mis M08)."""
    return bool(POLICY.match(password))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify_legacy(stored: str, password: str) -> bool:
    """``pbkdf2:sha256[:iterations]$salt$hexdigest`` as werkzeug wrote it."""
    method, _, rest = stored.partition("$")
    salt, _, digest = rest.partition("$")
    parts = method.split(":")
    if len(parts) not in (2, 3) or parts[0] != "pbkdf2" or not salt or not digest:
        return False
    try:
        iterations = int(parts[2]) if len(parts) == 3 else LEGACY_DEFAULT_ITERATIONS
        computed = hashlib.pbkdf2_hmac(parts[1], password.encode(), salt.encode(), iterations)
    except ValueError:  # unknown digest name or a bad iteration count
        return False
    return hmac.compare_digest(computed.hex(), digest)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    if stored.startswith("pbkdf2:"):
        return _verify_legacy(stored, password)
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_upgrade(stored: str) -> bool:
    """True for legacy hashes and argon2 hashes made with weaker parameters than today's."""
    if stored.startswith("pbkdf2:"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
