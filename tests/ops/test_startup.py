"""Start-up as an operator meets it: ``--help`` never needs settings, production refuses unsafe
settings with one line on stderr (no traceback) and starts with real ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.ops.helpers import PRODUCTION, clean_env, run_toutiao
from toutiao.cli import app
from toutiao.config import Environment, Settings, SettingsError, load_settings


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if hasattr(command, "commands"):  # a group
        for name, sub in command.commands.items():
            found.extend(_commands(sub, (*path, name)))
    return found


def test_every_help_works_without_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUTIAO_ENV", "production")  # and no secret: settings would fail
    monkeypatch.delenv("TOUTIAO_JWT_SECRET", raising=False)
    commands = _commands(typer.main.get_command(app))
    assert ("serve",) in commands and ("db", "upgrade") in commands
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_help_in_a_real_process(tmp_path: Path) -> None:
    result = run_toutiao("--help", env=clean_env(TOUTIAO_ENV="production"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"TOUTIAO_JWT_SECRET": None}, "TOUTIAO_JWT_SECRET must be set"),
        ({"TOUTIAO_JWT_SECRET": "short"}, "at least 32 characters"),
        ({"TOUTIAO_SMS_PROVIDER": "log"}, "TOUTIAO_SMS_PROVIDER=log"),
        ({"TOUTIAO_DEMO": "true"}, "TOUTIAO_DEMO must be off"),
        ({"TOUTIAO_SMS_UNIVERSAL_CODE": "123456"}, "TOUTIAO_SMS_UNIVERSAL_CODE"),
        ({"TOUTIAO_CORS_ORIGINS": "*"}, "TOUTIAO_CORS_ORIGINS"),
        ({"TOUTIAO_SMS_ALIYUN_SIGN_NAME": None}, "TOUTIAO_SMS_ALIYUN_SIGN_NAME"),
        ({"TOUTIAO_STATS_FIX_CRON": "0 3 * * 9"}, "TOUTIAO_STATS_FIX_CRON"),
        ({"TOUTIAO_RECO_PORT": "many"}, "TOUTIAO_RECO_PORT"),
    ],
)
def test_production_refuses_unsafe_settings_in_one_line(
    tmp_path: Path, changes: dict[str, str | None], needle: str
) -> None:
    values = dict(PRODUCTION, TOUTIAO_DATA_DIR=str(tmp_path / "var"))
    for key, value in changes.items():
        values.pop(key, None)
        if value is not None:
            values[key] = value
    result = run_toutiao("db", "upgrade", env=clean_env(**values), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("toutiao: invalid settings: ")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_asgi_entry_point_refuses_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import toutiao.asgi"],
        env=clean_env(TOUTIAO_ENV="production"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "TOUTIAO_JWT_SECRET" in result.stderr


def test_production_starts_with_real_settings(tmp_path: Path) -> None:
    env = clean_env(**PRODUCTION, TOUTIAO_DATA_DIR=str(tmp_path / "var"))
    result = run_toutiao("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "toutiao.db").exists()


def test_all_problems_are_named_together() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(ENV="production", DEMO=True, _env_file=None)
    message = str(caught.value)
    assert "\n" not in message
    assert "TOUTIAO_JWT_SECRET" in message and "TOUTIAO_DEMO" in message


def test_development_defaults_still_start(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, DATA_DIR=tmp_path)
    assert Environment.development == settings.ENV
    assert settings.SMS_PROVIDER == "log"
