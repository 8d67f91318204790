"""A new reader's visit, over HTTP, on the platform the README's first command starts: the
feed's promises (full batches, nothing shown twice, pre_timestamp chains, exact scroll-back)
checked by ``bench/walk.py`` against ``toutiao serve --demo``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.test_serve import _free_port, _get

ROOT = Path(__file__).resolve().parent.parent


def test_a_new_readers_visit_keeps_the_feeds_promises(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUTIAO_")}
    env["TOUTIAO_SCHEDULER_ENABLED"] = "false"
    output = (tmp_path / "serve.log").open("wb")
    command = [sys.executable, "-m", "toutiao.cli", "serve", "--demo", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(tmp_path)], env=env, stdout=output, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if _get(base + "/healthz")[0] == 200:  # ready but for the similar index
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.3)
        walk = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "walk.py"), "--base", base, "--pulls", "8"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert walk.returncode == 0, walk.stdout + walk.stderr
        lines = walk.stdout.splitlines()
        assert lines[-1] == "walk: every promise held"
        rows = [line.split() for line in lines[1:10]]  # 3 readers x 3 channels
        assert len(rows) == 9 and all(row[-1] == "0" for row in rows), walk.stdout
        assert all(int(row[-6]) == 80 and int(row[-4]) == 8 for row in rows), walk.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            output.close()
