"""Helpers of the /mp tests."""

from __future__ import annotations

import pytest

DEMO_MOBILE = "13911111111"


def assert_error(response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message"}
    assert isinstance(body["message"], str) and body["message"]


@pytest.fixture
def universal_code(runtime):
    """The demo code 246810 is accepted for the duration of a test."""
    runtime.settings.SMS_UNIVERSAL_CODE = "246810"
    yield "246810"
    runtime.settings.SMS_UNIVERSAL_CODE = None


@pytest.fixture
def auto_approve(runtime):
    runtime.settings.MP_AUTO_APPROVE = True
    yield
    runtime.settings.MP_AUTO_APPROVE = None
