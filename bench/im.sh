#!/usr/bin/env bash
# Notification delivery latency across processes, in one command: a MariaDB database of its
# own (toutiao_bench_im, 2,000 demo articles), the API under gunicorn with uvicorn workers
# publishing to RabbitMQ, a separate Socket.IO node (`toutiao im`) consuming it, and
# bench/im.py driving follows, likes and comments on the API while Socket.IO clients wait on
# the IM node; prints p50/p90/p99/max, writes bench/results/im.json and stops everything it
# started. See bench/README.md.
#
#   bench/im.sh [--fresh] [im.py options, e.g. --actions 300 --concurrency 4,16]
#
# --fresh seeds the database again. BENCH_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/)
# names the broker; BENCH_MQ_URL=redis://... measures Redis pub/sub instead.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

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

ARTICLES=${BENCH_IM_ARTICLES:-2000}
USERS=${BENCH_IM_USERS:-200}
MQ_URL=${BENCH_MQ_URL:-${BENCH_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}}
OUT=$RESULTS/im
LOGS=$OUT/logs
mkdir -p "$LOGS"
stack_settings "${BENCH_IM_DB_NAME:-toutiao_bench_im}" "${BENCH_IM_REDIS_DB:-7}" "$PWD/$OUT/var"
demo_database "$ARTICLES" "$USERS" "$FRESH"

export TOUTIAO_MQ_URL=$MQ_URL
export TOUTIAO_MQ_CHANNEL=toutiao-bench-im
mq_host=$("$PY" -c "import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.hostname or '127.0.0.1', p.port or (6379 if p.scheme.startswith('redis') else 5672))" "$MQ_URL")
"$PY" -c "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2).close()" \
  $mq_host || die "the message queue is not reachable at ${mq_host/ /:}"

# Recipients need articles of their own (likes and comments notify the author).
MOBILES=$(sql "$DB_NAME" -e 'SELECT u.mobile FROM user_basic u
                             WHERE u.status = 1 AND EXISTS (SELECT 1 FROM news_article_basic a
                               WHERE a.user_id = u.user_id AND a.status = 2)
                             ORDER BY u.user_id LIMIT 64' | paste -sd, -)

IM_PORT=$(free_port)
"$TOUTIAO" im --port "$IM_PORT" >"$LOGS/im.log" 2>&1 &
IM_PID=$!
PIDS+=("$IM_PID")
wait_for "toutiao im" "$IM_PID" "$LOGS/im.log" \
  "import socket; socket.create_connection(('127.0.0.1', $IM_PORT), 1).close()"
say "IM: toutiao im on 127.0.0.1:$IM_PORT (pid $IM_PID), fan-out $(printf '%s' "$MQ_URL" | sed 's#//[^@]*@#//#')"

start_api "$LOGS/api.log"

set +e
"$PY" bench/im.py --api "$BASE" --im "http://127.0.0.1:$IM_PORT" --mobiles "$MOBILES" \
  --api-pid "$API_PID" --im-pid "$IM_PID" --redis-port "$REDIS_PORT" \
  --meta "stack=MariaDB $DB_NAME, Redis db $REDIS_DB, gunicorn $WORKERS x $WORKER_CLASS, toutiao im" \
  --meta "mq=$(printf '%s' "$MQ_URL" | sed 's#//[^@]*@#//#')" --meta "demo_data=$DEMO_STAMP" \
  --out "$RESULTS/im.json" ${LOAD_ARGS[@]+"${LOAD_ARGS[@]}"}
rc=$?
set -e
kill -0 "$API_PID" 2>/dev/null || say "the API master died during the run; log: $LOGS/api.log"
kill -0 "$IM_PID" 2>/dev/null || say "toutiao im died during the run; log: $LOGS/im.log"
log_problems "$LOGS/api.log" "$LOGS/im.log"
exit "$rc"
