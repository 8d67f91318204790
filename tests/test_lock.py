"""requirements.lock pins every dependency pyproject.toml declares, at a version it allows,
for each supported Python (3.11-3.13)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(python: str) -> dict[str, str]:
    env = {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_machine": "x86_64",
        "os_name": "posix",
    }
    pins = {}
    for raw in (ROOT / "requirements.lock").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        spec, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(env):
            continue
        name, _, version = spec.strip().partition("==")
        pins[canonicalize_name(name.split("[")[0])] = version
    return pins


@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
def test_every_dependency_is_pinned_within_its_range(python: str) -> None:
    pins = _pins(python)
    wanted = [*PROJECT["dependencies"]]
    for extra in ("dev", "deploy"):
        wanted += PROJECT["optional-dependencies"][extra]
    for text in wanted:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate({"python_version": python}):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run scripts/lock.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside {requirement.specifier}: run scripts/lock.sh"
        )


def test_the_supported_pythons_are_declared() -> None:
    supported = SpecifierSet(PROJECT["requires-python"])
    assert all(v in supported for v in ("3.11.0", "3.12.0", "3.13.0")), supported
    assert "3.14.0" not in supported  # untested: refused rather than assumed
