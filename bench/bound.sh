#!/usr/bin/env bash
# What a page costs against the floor before any work of its own: the API as run.sh serves it
# (gunicorn, uvicorn workers, MariaDB, Redis), plus four endpoints that only make Redis round
# trips (bench/bound_app.py), driven by bench/bound.py (wrk). Prints the table, writes
# bench/results/bound.json and stops what it started. See bench/README.md.
#
#   bench/bound.sh [bound.py options, e.g. --rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/_stack.sh

OUT=$RESULTS/bound
mkdir -p "$OUT"
stack_settings "${BENCH_DB_NAME:-toutiao_bench}" "${BENCH_REDIS_DB:-11}" "$PWD/$OUT/var"
demo_database "${BENCH_ARTICLES:-10000}" "${BENCH_USERS:-200}" 0
APP_MODULE=bench.bound_app:app start_api "$OUT/api.log"
"$PY" bench/bound.py --base "$BASE" --api-pid "$API_PID" --redis-port "$REDIS_PORT" \
  --redis-url "redis://$REDIS_HOST:$REDIS_PORT" "$@"
