"""Token logic: lifetimes, the refresh claim, and rejection of anything tampered with."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt

from toutiao.config import Settings
from toutiao.user import tokens
from toutiao.user.tokens import issue_token, verify_token

SETTINGS = Settings(JWT_SECRET="s" * 40)


def test_lifetimes_and_claims():
    now = datetime.now(UTC).replace(microsecond=0)
    access = jwt.decode(issue_token(SETTINGS, 7, now=now), options={"verify_signature": False})
    refresh = jwt.decode(
        issue_token(SETTINGS, 7, refresh=True, now=now), options={"verify_signature": False}
    )
    assert access["exp"] - access["iat"] == 2 * 3600 and access["refresh"] is False
    assert refresh["exp"] - refresh["iat"] == 14 * 86400 and refresh["refresh"] is True
    assert access["user_id"] == refresh["user_id"] == 7


def test_verify_round_trip_and_failures():
    assert verify_token(SETTINGS, issue_token(SETTINGS, 2**62)).user_id == 2**62
    assert verify_token(SETTINGS, issue_token(SETTINGS, 5, refresh=True)).refresh is True
    expired = issue_token(SETTINGS, 5, now=datetime.now(UTC) - timedelta(hours=2, seconds=1))
    assert verify_token(SETTINGS, expired) is None
    other = Settings(JWT_SECRET="o" * 40)
    assert verify_token(SETTINGS, issue_token(other, 5)) is None
    assert verify_token(SETTINGS, "not.a.token") is None
    unsigned = jwt.encode(
        {"user_id": 5, "exp": datetime.now(UTC) + timedelta(hours=1)}, key=None, algorithm="none"
    )
    assert verify_token(SETTINGS, unsigned) is None
    for bad_id in (0, -1, True, "5"):
        token = jwt.encode(
            {"user_id": bad_id, "exp": datetime.now(UTC) + timedelta(hours=1)},
            "s" * 40,
            algorithm="HS256",
        )
        assert verify_token(SETTINGS, token) is None


def test_a_verified_token_is_remembered_until_it_expires(monkeypatch):
    decoded: list[str] = []
    decode = tokens._decode

    def counting(settings: Settings, token: str):
        decoded.append(token)
        return decode(settings, token)

    monkeypatch.setattr(tokens, "_decode", counting)
    now = datetime.now(UTC)
    token = issue_token(SETTINGS, 9, now=now)
    assert verify_token(SETTINGS, token).user_id == 9
    assert verify_token(SETTINGS, token).user_id == 9
    assert decoded == [token]  # the second check reused the first
    # under another secret the same token is checked again, and fails
    assert verify_token(Settings(JWT_SECRET="o" * 40), token) is None
    # once its expiry passes, a remembered token is refused like any expired one
    short = issue_token(SETTINGS, 9, now=now - timedelta(hours=2) + timedelta(seconds=1))
    assert verify_token(SETTINGS, short).user_id == 9
    time.sleep(max(0.0, now.timestamp() + 1.1 - time.time()))
    assert verify_token(SETTINGS, short) is None
    # junk is never remembered
    for _ in range(2):
        assert verify_token(SETTINGS, "not.a.token") is None
    assert decoded.count("not.a.token") == 2
