#!/usr/bin/env bash
# Self-media (/mp) bench in one command: publish-to-visible latency (from the /mp submit to
# the article being found by /app search AND listed first in the author's /app article list,
# p50/p99) and /mp article list throughput against the floor GET /app/ of the same run.
# A MariaDB database of its own (toutiao_bench_mp), Redis db 13, the API under gunicorn
# (TOUTIAO_MP_AUTO_APPROVE=true, the write limit lifted), a task worker (search queue) of its own;
# prints the table, writes bench/results/mp.json, stops everything it started.
#
#   bench/mp.sh [--fresh] [mp.py options, e.g. --publishes 100 --duration 10]
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

FRESH=0
LOAD_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) FRESH=1 ;;
    -h | --help) usage; exit 0 ;;
    *) LOAD_ARGS+=("$1") ;;
  esac
  shift
done

. bench/_stack.sh

OUT=$RESULTS/mp
LOGS=$OUT/logs
mkdir -p "$LOGS"
stack_settings "${BENCH_MP_DB_NAME:-toutiao_bench_mp}" "${BENCH_MP_REDIS_DB:-13}" "$PWD/$OUT/var"
# Production settings refuse the demo code the bench logs in with: run as development
# (same engines and code paths; only the start-up refusal and defaults differ).
export TOUTIAO_ENV=development
export TOUTIAO_MP_AUTO_APPROVE=true
export TOUTIAO_MP_WRITE_RATE_PER_USER=100000/minute
demo_database "${BENCH_MP_ARTICLES:-10000}" "${BENCH_MP_USERS:-200}" "$FRESH"
if [ ! -d "$DATA/search" ] || [ "$FRESH" = 1 ]; then
  say "building the search index (toutiao search reindex)"
  rm -rf "$DATA/search" "$DATA/search-reindex.json"
  "$TOUTIAO" search reindex 2>&1 | tail -n 1
fi

start_api "$LOGS/api.log"
"$TOUTIAO" worker --queues toutiao.search >"$LOGS/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=("$WORKER_PID")
say "task worker (search queue): pid $WORKER_PID"

set +e
"$PY" bench/mp.py --base "$BASE" --api-pid "$API_PID" --redis-port "$REDIS_PORT" \
  --redis-url "redis://$REDIS_HOST:$REDIS_PORT" --mysql-url "$MYSQL_URL" \
  --meta "stack=MariaDB $DB_NAME, Redis db $REDIS_DB, gunicorn $WORKERS x $WORKER_CLASS, tantivy, index worker process" \
  --meta "demo_data=$DEMO_STAMP" \
  --out "$RESULTS/mp.json" ${LOAD_ARGS[@]+"${LOAD_ARGS[@]}"}
rc=$?
set -e
log_problems "$LOGS/api.log" "$LOGS/worker.log"
exit "$rc"
