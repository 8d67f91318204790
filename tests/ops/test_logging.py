"""One log format for every process: run in a child process (logging is process-wide)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.ops.helpers import clean_env

SCRIPT = """
import logging
from toutiao.config import Settings
from toutiao.kit.logs import configure_logging, request_id_var

configure_logging(Settings(_env_file=None, LOG_FORMAT="{fmt}"), "api")
log = logging.getLogger("toutiao.test")
log.info("hello name=%s", "world")
log.debug("not shown at INFO")
logging.getLogger("apscheduler.executors.default").info("Running job x")
token = request_id_var.set("req-123")
log.warning("inside a request")
request_id_var.reset(token)
secret = "hunter2-in-a-local"
for attempt in range(5):
    try:
        raise ConnectionError("database is down")
    except ConnectionError:
        log.exception("db.failed attempt")
"""


def _run(tmp_path: Path, fmt: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(fmt=fmt)],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == ""
    return result.stderr


def test_json_lines_with_context_and_rate_limited_tracebacks(tmp_path: Path) -> None:
    lines = _run(tmp_path, "json").splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) == 2 + 5  # hello, inside a request, five failures; nothing else
    hello = records[0]
    assert hello["event"] == "hello name=world"
    assert hello["level"] == "info" and hello["logger"] == "toutiao.test"
    assert hello["process"] == "api" and hello["timestamp"].endswith("Z")
    assert records[1]["request_id"] == "req-123"
    assert "request_id" not in hello
    failures = records[2:]
    assert "exception" in failures[0]  # the first failure keeps its traceback
    assert failures[0]["exception"][0]["frames"]
    assert "hunter2" not in "\n".join(lines)  # no frame's local variables (secrets, tokens)
    for later in failures[1:]:
        assert "exception" not in later
        assert later["error"] == "ConnectionError: database is down"
        assert later["traceback"] == "suppressed (repeated)"


def test_console_format_is_readable(tmp_path: Path) -> None:
    output = _run(tmp_path, "console")
    first = output.splitlines()[0]
    assert "hello name=world" in first and "info" in first and "toutiao.test" in first
    assert output.count("Traceback") == 1  # the repeated failures print no stack
    assert "hunter2" not in output  # no frame's local variables
    assert "Running job" not in output
