#!/usr/bin/env bash
# The benchmark in one command: a production-like toutiao stack on this machine (MariaDB,
# Redis, the recommendation service as its own process, the API under gunicorn with uvicorn
# workers, 10,000 demo articles), driven by bench/load.py from a separate process; prints
# req/s, p50/p99 and the ratio of each endpoint to the floor (GET /app/), writes
# bench/results/latest.json, and stops everything it started. See bench/README.md.
#
#   bench/run.sh [--fresh] [load.py options, e.g. --tool both --rounds 3 --duration 10]
#
# --fresh rebuilds the database even when it already holds the same demo data.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

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

ARTICLES=${BENCH_ARTICLES:-10000}
USERS=${BENCH_USERS:-200}
SEED=20260101
WORKERS=${BENCH_WORKERS:-2}
DB_NAME=${BENCH_DB_NAME:-toutiao_bench}
DB_HOST=${BENCH_DB_HOST:-127.0.0.1}
DB_PORT=${BENCH_DB_PORT:-3306}
DB_USER=${BENCH_DB_USER:-root}
DB_PASSWORD=${BENCH_DB_PASSWORD:-}
REDIS_HOST=${BENCH_REDIS_HOST:-127.0.0.1}
REDIS_PORT=${BENCH_REDIS_PORT:-6379}
REDIS_DB=${BENCH_REDIS_DB:-14}
VENV=${BENCH_VENV:-.venv}
RESULTS=bench/results
LOGS=$RESULTS/logs
DATA=$PWD/$RESULTS/var

say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# -- the Python environment: the project plus the server and the load generator -------------
if [ "$VENV" = ".venv" ]; then
  . scripts/_venv.sh
  ensure_venv app
fi
PY=$VENV/bin/python
[ -x "$PY" ] || die "no Python at $PY"
missing=()
"$PY" -c 'import gunicorn' 2>/dev/null || missing+=(gunicorn)
"$PY" -c 'import uvicorn_worker' 2>/dev/null || missing+=(uvicorn-worker)
"$PY" -c 'import aiohttp' 2>/dev/null || missing+=(aiohttp)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing into $VENV: ${missing[*]}"
  "$PY" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi
TOUTIAO=$VENV/bin/toutiao
GUNICORN=$VENV/bin/gunicorn
WORKER_CLASS=uvicorn_worker.UvicornWorker  # uvicorn.workers is deprecated since uvicorn 0.30

MYSQL=$(command -v mariadb || command -v mysql) || die "the mariadb/mysql client is needed"
sql() { MYSQL_PWD="$DB_PASSWORD" "$MYSQL" -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -N -B "$@"; }
sql -e 'SELECT 1' >/dev/null || die "MariaDB is not reachable at $DB_HOST:$DB_PORT"

mkdir -p "$LOGS" "$DATA"
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# -- settings every toutiao process of the bench shares ---------------------------------------
auth=""
[ -n "$DB_PASSWORD" ] && auth=":$DB_PASSWORD"
export TOUTIAO_ENV=production
export TOUTIAO_DEMO=true            # the 'log' SMS provider + universal code 246810 for logins
export TOUTIAO_SMS_PROVIDER=log
export TOUTIAO_JWT_SECRET
TOUTIAO_JWT_SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')
export TOUTIAO_DATABASE_URL="mysql+asyncmy://$DB_USER$auth@$DB_HOST:$DB_PORT/$DB_NAME"
export TOUTIAO_REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB"
export TOUTIAO_DATA_DIR=$DATA
unset TOUTIAO_REDIS_STORAGE_URL TOUTIAO_DATABASE_REPLICA_URLS TOUTIAO_RECO_TARGET

# -- Redis: our own database, empty ----------------------------------------------------------
"$PY" -c "import redis; redis.Redis(host='$REDIS_HOST', port=$REDIS_PORT, db=$REDIS_DB).flushdb()" ||
  die "Redis is not reachable at $REDIS_HOST:$REDIS_PORT"
say "Redis $REDIS_HOST:$REDIS_PORT db $REDIS_DB flushed"

# -- MariaDB: reuse the bench database when it holds this very demo data ----------------------
code=$(find toutiao/seed toutiao/migrations -type f \( -name '*.py' -o -name '*.txt' \) | sort |
  xargs cat | sha256sum | cut -c1-16)
stamp="articles=$ARTICLES users=$USERS seed=$SEED code=$code"
current=$(sql -e 'SELECT stamp FROM bench_stamp' "$DB_NAME" 2>/dev/null || true)
if [ "$FRESH" = 1 ] || [ "$current" != "$stamp" ]; then
  say "building database $DB_NAME: $stamp${current:+ (was: $current)}"
  sql -e "DROP DATABASE IF EXISTS \`$DB_NAME\`;
          CREATE DATABASE \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
  rm -rf "$DATA/media"
  "$TOUTIAO" db upgrade
  "$TOUTIAO" seed demo --articles "$ARTICLES" --users "$USERS" --seed "$SEED" 2>&1 | tail -n 3
  sql "$DB_NAME" -e "CREATE TABLE bench_stamp (stamp VARCHAR(255) NOT NULL);
                     INSERT INTO bench_stamp VALUES ('$stamp')"
else
  say "reusing database $DB_NAME ($stamp); --fresh rebuilds it"
  "$TOUTIAO" db upgrade
  # Redis was flushed: rebuild the counters.
  out=$("$TOUTIAO" stats fix 2>&1) || { printf '%s\n' "$out" >&2; die "toutiao stats fix failed"; }
fi
MOBILES=$(sql "$DB_NAME" -e 'SELECT mobile FROM user_basic WHERE status = 1 ORDER BY user_id LIMIT 8' |
  paste -sd, -)
sql "$DB_NAME" -e 'SELECT article_id FROM news_article_basic WHERE status = 2
                   ORDER BY article_id DESC' >"$RESULTS/approved_ids.txt"
head -n 300 "$RESULTS/approved_ids.txt" >"$RESULTS/fallback_ids.txt"

# -- processes: started here, stopped on exit whatever happens --------------------------------
PIDS=()
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [ ${#PIDS[@]} -eq 0 ] || say "stopped what the bench started (MariaDB and Redis keep running)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for() {  # wait_for WHAT PID LOG PYTHON-CHECK
  local what=$1 pid=$2 log=$3 check=$4
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; die "$what exited; log: $log"; }
    "$PY" -c "$check" 2>/dev/null && return 0
    sleep 0.2
  done
  tail -n 30 "$log" >&2
  die "$what did not come up in 30 s; log: $log"
}

RPC_PID=""
RPC="not available (the feed uses its local recall)"
if "$TOUTIAO" rpc --help >/dev/null 2>&1; then
  RPC_PORT=$(free_port)
  TOUTIAO_RECO_PORT=$RPC_PORT "$TOUTIAO" rpc --port "$RPC_PORT" >"$LOGS/rpc.log" 2>&1 &
  RPC_PID=$!
  PIDS+=("$RPC_PID")
  wait_for "toutiao rpc" "$RPC_PID" "$LOGS/rpc.log" \
    "import socket; socket.create_connection(('127.0.0.1', $RPC_PORT), 1).close()"
  export TOUTIAO_RECO_TARGET=127.0.0.1:$RPC_PORT
  RPC="toutiao rpc on 127.0.0.1:$RPC_PORT (pid $RPC_PID)"
fi
say "recommendation service: $RPC"

API_PORT=$(free_port)
BASE=http://127.0.0.1:$API_PORT
control=()
"$GUNICORN" --help 2>/dev/null | grep -q -- --no-control-socket && control=(--no-control-socket)
"$GUNICORN" toutiao.asgi:app -k "$WORKER_CLASS" -w "$WORKERS" --bind "127.0.0.1:$API_PORT" \
  --graceful-timeout 10 "${control[@]}" >"$LOGS/api.log" 2>&1 &
API_PID=$!
PIDS=("$API_PID" "${PIDS[@]}")  # the API stops first
wait_for "the API" "$API_PID" "$LOGS/api.log" \
  "import urllib.request as u; u.urlopen('$BASE/healthz', timeout=2).read()"
say "API: gunicorn, $WORKERS x $WORKER_CLASS on $BASE (pid $API_PID), TOUTIAO_ENV=production"

if [ -n "$RPC_PID" ]; then
  # Its start-up job builds the similar-articles index from scratch (Redis was flushed), in
  # worker processes; nothing is measured before it is done: wait for the index's meta key,
  # then for the service and its children to idle (< 5 % of a core over 3 s).
  say "waiting for the recommendation service's start-up index build"
  started=$SECONDS
  "$PY" - "$RPC_PID" 300 <<'PY' || die "toutiao rpc not ready after 300 s; log: $LOGS/rpc.log"
import os, sys, time

import redis

pid, limit = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + limit
tck = os.sysconf("SC_CLK_TCK")
try:
    from toutiao.recommend.keys import INDEX_META
except ImportError:  # renamed: rely on idling alone
    INDEX_META = None
client = redis.Redis.from_url(os.environ["TOUTIAO_REDIS_URL"])
while INDEX_META and not client.exists(INDEX_META):
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(1)


def tree_cpu() -> float:
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    members = {pid}
    while grown := {p for p, (pp, _) in stats.items() if pp in members} - members:
        members |= grown
    return sum(stats[p][1] for p in members if p in stats) / tck


while True:
    before = tree_cpu()
    time.sleep(3)
    if (tree_cpu() - before) / 3 < 0.05:
        sys.exit(0)
    if time.monotonic() > deadline:
        sys.exit(1)
PY
  say "recommendation service ready after $((SECONDS - started)) s:" \
    "$(grep -o 'recommend.similar_rebuilt.*' "$LOGS/rpc.log" | tail -n 1)"
fi

# -- load ------------------------------------------------------------------------------------
set +e
"$PY" bench/load.py --base "$BASE" --api-pid "$API_PID" ${RPC_PID:+--rpc-pid "$RPC_PID"} \
  --redis-port "$REDIS_PORT" --mobiles "$MOBILES" --fallback-ids "$RESULTS/fallback_ids.txt" \
  --warm-ids "$RESULTS/approved_ids.txt" \
  --redis-url "redis://$REDIS_HOST:$REDIS_PORT" --mysql-url "mysql://$DB_USER$auth@$DB_HOST:$DB_PORT" \
  --meta "stack=MariaDB $DB_NAME, Redis db $REDIS_DB, gunicorn $WORKERS x $WORKER_CLASS" \
  --meta "rpc=$RPC" --meta "demo_data=$stamp" \
  --out "$RESULTS/latest.json" ${LOAD_ARGS[@]+"${LOAD_ARGS[@]}"}
rc=$?
set -e

kill -0 "$API_PID" 2>/dev/null || say "the API master died during the run; log: $LOGS/api.log"
[ -z "$RPC_PID" ] || kill -0 "$RPC_PID" 2>/dev/null || say "toutiao rpc died; log: $LOGS/rpc.log"
errors='Traceback|ERROR|CRITICAL|WORKER TIMEOUT|exited with code|Exception'
for log in "$LOGS/api.log" ${RPC_PID:+"$LOGS/rpc.log"}; do
  problems=$(grep -cE "$errors" "$log" || true)
  if [ "$problems" != 0 ]; then
    say "$problems error lines in $log, the first ones:"
    grep -m 10 -E "$errors" "$log" >&2
  fi
done
fallbacks=$(grep -c 'reco.call_failed' "$LOGS/api.log" || true)
[ "$fallbacks" = 0 ] ||
  say "$fallbacks reco.call_failed warnings in api.log (rate-limited; each stands for one or" \
    "more calls that fell back to the local recall):" \
    "$(grep -o 'method=[a-z_]* reason=[A-Z_]*' "$LOGS/api.log" | sort | uniq -c | tr -s ' ' | paste -sd';' -)"
exit "$rc"
