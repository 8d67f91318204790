"""The unbounded-body attack against a real server process: its memory stays flat.

Thirty clients each push 8 MiB at the login endpoint at once, half announcing the length and
half streaming it chunked; the server must answer 413 without holding those bodies. RSS of
the server process is sampled throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ATTACKERS = 30
BODY = 8 * 1024 * 1024
CHUNK = 64 * 1024
MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # answering at all is enough (the database is not migrated)
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not start")


async def _attack(port: int, chunked: bool) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY}"
    head = f"POST /app/v1_0/authorizations HTTP/1.1\r\nHost: x\r\n{length}\r\n"
    writer.write((head + "Content-Type: application/json\r\n\r\n").encode())
    status = ""
    try:
        for _ in range(BODY // CHUNK):
            data = b"x" * CHUNK
            writer.write(f"{CHUNK:x}\r\n".encode() + data + b"\r\n" if chunked else data)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    with contextlib.suppress(ConnectionError, OSError, TimeoutError):
        status = (await asyncio.wait_for(reader.readline(), timeout=30)).decode()
    writer.close()
    return status


def _sample(process: psutil.Process, stop: threading.Event, peaks: list[int]) -> None:
    while not stop.is_set():
        try:
            peaks.append(process.memory_info().rss)
        except psutil.Error:
            return
        time.sleep(0.02)


def test_large_bodies_do_not_grow_server_memory(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUTIAO_")}
    env.update(TOUTIAO_DATA_DIR=str(tmp_path), TOUTIAO_SCHEDULER_ENABLED="false")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "toutiao.asgi:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(process, f"http://127.0.0.1:{port}/app/v1_0/channels")
        server = psutil.Process(process.pid)
        before = server.memory_info().rss
        stop, peaks = threading.Event(), [before]
        sampler = threading.Thread(target=_sample, args=(server, stop, peaks), daemon=True)
        sampler.start()

        async def all_at_once() -> list[str]:
            return await asyncio.gather(*(_attack(port, i % 2 == 0) for i in range(ATTACKERS)))

        statuses = asyncio.run(all_at_once())
        time.sleep(0.5)
        stop.set()
        sampler.join()
        after = server.memory_info().rss
        answered = [s for s in statuses if s]
        assert answered and all(" 413 " in s for s in answered), statuses
        peak_growth = (max(peaks) - before) / MIB
        # The attack carries 240 MiB; a server that read it grows by at least that much. The
        # bound leaves room for what a first burst of requests allocates anyway (pools, buffers).
        assert peak_growth < 64, f"server RSS grew by {peak_growth:.0f} MiB at peak"
        assert (after - before) / MIB < 64, f"server kept {(after - before) / MIB:.0f} MiB"
    finally:
        process.terminate()
        process.wait(timeout=30)
