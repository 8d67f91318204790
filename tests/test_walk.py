"""A new reader's visit, over HTTP, on the platform the README's first command starts: the
feed's promises (full batches, nothing shown twice, pre_timestamp chains, exact scroll-back)
checked by ``bench/walk.py`` against ``toutiao serve --demo``."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.test_serve import start_serve, wait_for

ROOT = Path(__file__).resolve().parent.parent


def test_a_new_readers_visit_keeps_the_feeds_promises(tmp_path: Path) -> None:
    process, output, base = start_serve(tmp_path, "--demo")
    try:
        # healthy is enough: readiness also waits for the similar-articles index
        wait_for(process, base + "/healthz", tmp_path / "serve.log", 180)
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
