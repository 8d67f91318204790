#!/usr/bin/env bash
# Run the test suite (the same command CI runs). Embedded engines by default; set
# TOUTIAO_TEST_DATABASE_URL=mysql+asyncmy://root@127.0.0.1:3306 and
# TOUTIAO_TEST_REDIS_URL=redis://127.0.0.1:6379 to run against MariaDB and Redis. Another
# Python: PYTHON=python3.12 VENV=.venv-3.12 ./scripts/test.sh ...
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv dev
exec "${VENV:-.venv}/bin/python" -m pytest "$@"
