"""Running ``toutiao`` as an operator does: a real process with a clean ``TOUTIAO_*`` environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

SECRET = "production-secret-for-tests-0123456789abcdef"
PRODUCTION = {
    "TOUTIAO_ENV": "production",
    "TOUTIAO_JWT_SECRET": SECRET,
    "TOUTIAO_SMS_PROVIDER": "aliyun",
    "TOUTIAO_SMS_ALIYUN_ACCESS_KEY_ID": "key-id",
    "TOUTIAO_SMS_ALIYUN_ACCESS_KEY_SECRET": "key-secret",
    "TOUTIAO_SMS_ALIYUN_SIGN_NAME": "toutiao",
    "TOUTIAO_SMS_ALIYUN_TEMPLATE_CODE": "SMS_1",
}


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOUTIAO_", "PROMETHEUS_"))}
    env.update(values)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_toutiao(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "toutiao.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def popen_toutiao(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "toutiao.cli", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
