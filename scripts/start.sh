#!/usr/bin/env bash
# Set up a virtualenv, install toutiao, and start the whole platform on embedded engines
# with demo data: http://127.0.0.1:8000/app/ (API docs at /docs, health at /healthz).
# Extra arguments go to `toutiao serve` (e.g. --port 9000 --data-dir /tmp/toutiao).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv app
exec .venv/bin/toutiao serve --demo "$@"
