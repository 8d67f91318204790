#!/usr/bin/env bash
# mypy over the packages listed in pyproject.toml ([tool.mypy] files; strict on kit/, api/,
# models/ and the task tier). What CI runs; arguments go to mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv dev
exec "${VENV:-.venv}/bin/python" -m mypy "$@"
