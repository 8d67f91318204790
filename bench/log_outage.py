"""How much a database outage writes to the log: lines on stderr while the API serves load
for a fixed time with its database unreachable.

    .venv/bin/python bench/log_outage.py                    # this checkout
    .venv/bin/python bench/log_outage.py --source /path/to/other/checkout   # e.g. older code

The API (``toutiao.asgi:app`` under uvicorn, one worker, INFO) runs on the embedded Redis
with ``TOUTIAO_DATABASE_URL`` pointing at a port where nothing listens; a driver keeps
``--clients`` connections busy on endpoints that need the database for ``--seconds``. The
figures compared are lines logged, requests answered and lines per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PATHS = ("/app/v1_0/channels", "/app/v1_0/articles/1", "/app/v1_0/user/channels")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _drive(base: str, seconds: float, clients: int) -> int:
    done = 0
    stop_at = time.monotonic() + seconds

    async def client(index: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            while time.monotonic() < stop_at:
                await http.get(PATHS[(done + index) % len(PATHS)])
                done += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    return done


def _wait_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the API exited during start-up")
        try:
            httpx.get(base + "/app/", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the API did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as data_dir, tempfile.TemporaryFile() as log:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOUTIAO_")}
        env.update(
            PYTHONPATH=str(args.source),
            TOUTIAO_DATA_DIR=data_dir,
            TOUTIAO_DATABASE_URL="mysql+asyncmy://root@127.0.0.1:1/unreachable",
            TOUTIAO_LOG_LEVEL="INFO",
        )
        command = [sys.executable, "-m", "uvicorn", "toutiao.asgi:app", "--port", str(port)]
        process = subprocess.Popen(command, env=env, cwd=data_dir, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_up(base, process)
            log.seek(0, os.SEEK_END)
            start = log.tell()
            requests = asyncio.run(_drive(base, args.seconds, args.clients))
            time.sleep(0.5)
            log.seek(start)
            lines = log.read().count(b"\n")
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"source: {args.source}")  # noqa: T201
    print(f"outage: {args.seconds:.0f} s, {args.clients} clients")  # noqa: T201
    print(f"requests answered: {requests}")  # noqa: T201
    print(f"lines logged: {lines}  ({lines / max(requests, 1):.2f} per request)")  # noqa: T201


if __name__ == "__main__":
    main()
