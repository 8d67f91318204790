#!/usr/bin/env bash
# Re-pin requirements.lock after a change to the dependencies in pyproject.toml: one lock for
# Python 3.11-3.13 (environment markers where versions differ), keeping the current pins
# wherever they still satisfy pyproject.toml. Needs uv (pip install uv).
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-$(command -v uv || echo .venv/bin/uv)}"
"$UV" pip compile --universal --python-version 3.11 pyproject.toml \
  --extra dev --extra deploy --custom-compile-command scripts/lock.sh -o requirements.lock "$@"
