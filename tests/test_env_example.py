""".env.example lists every setting with its real default, and never drifts from config.py."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from toutiao.config import Settings
from toutiao.envexample import render

EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"
LINE = re.compile(r"^# TOUTIAO_([A-Z0-9_]+)=(.*)$", re.M)


def test_the_file_is_the_rendering_of_config_py() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render(), (
        "settings changed: run `python -m toutiao.envexample > .env.example`"
    )


def test_every_setting_is_listed_once() -> None:
    names = [m.group(1) for m in LINE.finditer(render()) if m.group(1) in Settings.model_fields]
    assert sorted(names) == sorted(Settings.model_fields)


def test_the_listed_defaults_load_as_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("TOUTIAO_")]:
        monkeypatch.delenv(key)
    env_file = tmp_path / ".env"
    values = {n: v for n, v in LINE.findall(render()) if n in Settings.model_fields and v != ""}
    env_file.write_text("".join(f"TOUTIAO_{n}={v}\n" for n, v in values.items()))
    loaded = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert loaded.model_fields_set >= set(values)
    for name in values:
        assert getattr(loaded, name) == getattr(Settings(_env_file=None), name), name  # type: ignore[call-arg]
