from __future__ import annotations

import pytest

from tests.fixtures.staff import StaffFactory
from toutiao.runtime import Runtime


@pytest.fixture
def staff(runtime: Runtime) -> StaffFactory:
    return StaffFactory(runtime)
