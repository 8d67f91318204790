"""``toutiao scheduler`` as a real process runs every thread at TOUTIAO_BACKGROUND_NICE (as
``toutiao rpc`` and ``toutiao worker`` do: the same start-up), so that the API's requests get
a shared host's CPU first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ops.helpers import clean_env


def _nice_values(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended
            continue
        found.append(int(stat.rsplit(")", 1)[1].split()[16]))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_scheduler_runs_every_thread_at_the_background_priority(tmp_path: Path) -> None:
    env = clean_env(TOUTIAO_ENV="testing", TOUTIAO_LOG_FORMAT="json", TOUTIAO_BACKGROUND_NICE="6")
    log_file = tmp_path / "scheduler.log"
    with log_file.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "toutiao.cli", "scheduler", "--data-dir", str(tmp_path / "d")],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while "scheduler.leader" not in log_file.read_text():  # running, its threads started
            assert process.poll() is None, log_file.read_text()[-3000:]
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        values = _nice_values(process.pid)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    expected = max(6, os.getpriority(os.PRIO_PROCESS, 0))  # a higher value it inherits stays
    assert len(values) > 1 and set(values) == {expected}, values
    assert f"process.priority process=scheduler nice={expected}" in log_file.read_text()
    assert process.returncode == 0, log_file.read_text()[-3000:]
