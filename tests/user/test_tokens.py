"""Token logic: lifetimes, the refresh claim, and rejection of anything tampered with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from toutiao.config import Settings
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
