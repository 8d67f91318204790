"""mypy over the packages pyproject.toml lists (strict on kit/, api/, models/ and the task
tier): a type error fails the suite, not only CI's typecheck step. Run once per suite (the
MariaDB run skips it: the code is the same)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    bool(os.environ.get("TOUTIAO_TEST_DATABASE_URL")), reason="checked in the embedded run"
)
def test_mypy_finds_no_errors() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (
        "mypy found errors (./scripts/typecheck.sh reproduces them):\n"
        + result.stdout
        + result.stderr
    )
