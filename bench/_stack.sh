# Sourced by bench/run.sh, bench/search.sh and bench/im.sh: the Python environment, the
# shared settings, a demo database built once and reused (stamped), and processes stopped
# on exit.
set -euo pipefail

say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

SEED=20260101
WORKERS=${BENCH_WORKERS:-2}
DB_HOST=${BENCH_DB_HOST:-127.0.0.1}
DB_PORT=${BENCH_DB_PORT:-3306}
DB_USER=${BENCH_DB_USER:-root}
DB_PASSWORD=${BENCH_DB_PASSWORD:-}
REDIS_HOST=${BENCH_REDIS_HOST:-127.0.0.1}
REDIS_PORT=${BENCH_REDIS_PORT:-6379}
VENV=${BENCH_VENV:-.venv}
RESULTS=bench/results

# -- the Python environment -------------------------------------------------------------------
if [ "$VENV" = ".venv" ]; then
  . scripts/_venv.sh
  ensure_venv "app,bench"
fi
PY=$VENV/bin/python
[ -x "$PY" ] || die "no Python at $PY"
TOUTIAO=$VENV/bin/toutiao
GUNICORN=$VENV/bin/gunicorn
[ -x "$GUNICORN" ] || die "gunicorn is missing: pip install -e '.[app,bench]'"
WORKER_CLASS=uvicorn_worker.UvicornWorker

MYSQL=$(command -v mariadb || command -v mysql) || die "the mariadb/mysql client is needed"
sql() { MYSQL_PWD="$DB_PASSWORD" "$MYSQL" -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -N -B "$@"; }
sql -e 'SELECT 1' >/dev/null || die "MariaDB is not reachable at $DB_HOST:$DB_PORT"
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# stack_settings DB_NAME REDIS_DB DATA_DIR: the environment every toutiao process shares.
stack_settings() {
  local auth=""
  [ -n "$DB_PASSWORD" ] && auth=":$DB_PASSWORD"
  DB_NAME=$1
  REDIS_DB=$2
  DATA=$3
  mkdir -p "$DATA"
  # Development mode: production refuses the demo login the bench needs (the 'log' SMS
  # provider, code 246810); the engines and code paths are the same.
  export TOUTIAO_ENV=${BENCH_ENV:-development}
  export TOUTIAO_DEMO=true  # the 'log' SMS provider + universal code 246810 for logins
  # Every gunicorn worker's metrics in /metrics, as in deploy/gunicorn.conf.py (the load
  # driver reads the feed's batch sources there).
  export PROMETHEUS_MULTIPROC_DIR="$DATA/prometheus"
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  export TOUTIAO_SMS_PROVIDER=log
  export TOUTIAO_JWT_SECRET
  TOUTIAO_JWT_SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')
  export TOUTIAO_DATABASE_URL="mysql+asyncmy://$DB_USER$auth@$DB_HOST:$DB_PORT/$DB_NAME"
  export TOUTIAO_REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB"
  export TOUTIAO_DATA_DIR=$DATA
  unset TOUTIAO_REDIS_STORAGE_URL TOUTIAO_DATABASE_REPLICA_URLS TOUTIAO_RECO_TARGET \
    TOUTIAO_SEARCH_URL TOUTIAO_MQ_URL TOUTIAO_CHATBOT_TARGET
  MYSQL_URL="mysql://$DB_USER$auth@$DB_HOST:$DB_PORT"
  "$PY" -c "import redis; redis.Redis(host='$REDIS_HOST', port=$REDIS_PORT, db=$REDIS_DB).flushdb()" ||
    die "Redis is not reachable at $REDIS_HOST:$REDIS_PORT"
  say "Redis $REDIS_HOST:$REDIS_PORT db $REDIS_DB flushed"
  REDIS_KIND="Redis db $REDIS_DB"
  REDIS_COUNT_URL="redis://$REDIS_HOST:$REDIS_PORT"  # commands per request (one server only)
  if [ "${BENCH_REDIS_CLUSTER:-0}" = 1 ]; then
    # Cache and storage on a fresh 3-master cluster started here; the task broker stays on
    # the standalone database above (Celery cannot use a cluster).
    local dir="$RESULTS/redis-cluster"
    rm -rf "$dir"
    "$PY" bench/redis_cluster.py "$dir" >"$RESULTS/redis-cluster.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 120); do [ -s "$dir/url" ] && break; sleep 0.5; done
    [ -s "$dir/url" ] || die "the Redis Cluster did not start; log: $RESULTS/redis-cluster.log"
    export TOUTIAO_TASK_BROKER_URL=$TOUTIAO_REDIS_URL
    TOUTIAO_REDIS_URL=$(cat "$dir/url")
    REDIS_KIND="Redis Cluster $TOUTIAO_REDIS_URL"
    REDIS_COUNT_URL=""
    say "cache and storage on $TOUTIAO_REDIS_URL (task broker: Redis db $REDIS_DB)"
  fi
}

# demo_database ARTICLES USERS FRESH: seed $DB_NAME unless it holds this very demo data
# (bench_stamp: size, seed, a hash of toutiao/seed + toutiao/migrations). Sets SEED_SECONDS
# (this run's, or the recorded one) and DEMO_STAMP.
demo_database() {
  local articles=$1 users=$2 fresh=$3 code current started
  code=$(find toutiao/seed toutiao/migrations -type f \( -name '*.py' -o -name '*.txt' \) | sort |
    xargs cat | sha256sum | cut -c1-16)
  DEMO_STAMP="articles=$articles users=$users seed=$SEED code=$code"
  current=$(sql -e 'SELECT stamp FROM bench_stamp' "$DB_NAME" 2>/dev/null || true)
  if [ "$fresh" = 1 ] || [ "$current" != "$DEMO_STAMP" ]; then
    say "building database $DB_NAME: $DEMO_STAMP${current:+ (was: $current)}"
    sql -e "DROP DATABASE IF EXISTS \`$DB_NAME\`;
            CREATE DATABASE \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    rm -rf "$DATA/media" "$DATA/search"
    "$TOUTIAO" db upgrade
    started=$(date +%s.%N)
    "$TOUTIAO" seed demo --articles "$articles" --users "$users" --seed "$SEED" 2>&1 | tail -n 3
    SEED_SECONDS=$("$PY" -c "import time; print(round(time.time() - $started, 1))")
    sql "$DB_NAME" -e "CREATE TABLE bench_stamp (stamp VARCHAR(255) NOT NULL, seconds FLOAT);
                       INSERT INTO bench_stamp VALUES ('$DEMO_STAMP', $SEED_SECONDS)"
    say "seeded in $SEED_SECONDS s"
  else
    SEED_SECONDS=$(sql -e 'SELECT seconds FROM bench_stamp' "$DB_NAME" 2>/dev/null || echo null)
    say "reusing database $DB_NAME ($DEMO_STAMP, seeded in ${SEED_SECONDS} s); --fresh rebuilds it"
    "$TOUTIAO" db upgrade
    out=$("$TOUTIAO" stats fix 2>&1) || { printf '%s\n' "$out" >&2; die "toutiao stats fix failed"; }
  fi
}

# -- processes: started here, stopped on exit whatever happens --------------------------------
PIDS=()
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [ ${#PIDS[@]} -eq 0 ] || say "stopped what the bench started (MariaDB, Redis and RabbitMQ keep running)"
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

# start_api LOG: gunicorn with $WORKERS uvicorn workers on a free port; sets API_PID, BASE.
start_api() {
  local log=$1 port control=()
  port=$(free_port)
  BASE=http://127.0.0.1:$port
  "$GUNICORN" --help 2>/dev/null | grep -q -- --no-control-socket && control=(--no-control-socket)
  "$GUNICORN" "${APP_MODULE:-toutiao.asgi:app}" -k "$WORKER_CLASS" -w "$WORKERS" --bind "127.0.0.1:$port" \
    --graceful-timeout 10 "${control[@]}" >"$log" 2>&1 &
  API_PID=$!
  PIDS=("$API_PID" "${PIDS[@]}")  # the API stops first
  wait_for "the API" "$API_PID" "$log" \
    "import urllib.request as u; u.urlopen('$BASE/healthz', timeout=2).read()"
  say "API: gunicorn, $WORKERS x $WORKER_CLASS on $BASE (pid $API_PID), TOUTIAO_ENV=$TOUTIAO_ENV"
}

# start_rpc LOG: `toutiao rpc` on a free port (its assistant on another: a second stack on
# this machine may hold the default, 9998); sets RPC_PORT, RPC_PID and TOUTIAO_RECO_TARGET.
start_rpc() {
  local log=$1
  RPC_PORT=$(free_port)
  export TOUTIAO_CHATBOT_PORT
  TOUTIAO_CHATBOT_PORT=$(free_port)
  TOUTIAO_RECO_PORT=$RPC_PORT "$TOUTIAO" rpc --port "$RPC_PORT" >"$log" 2>&1 &
  RPC_PID=$!
  PIDS+=("$RPC_PID")
  wait_for "toutiao rpc" "$RPC_PID" "$log" \
    "import socket; socket.create_connection(('127.0.0.1', $RPC_PORT), 1).close()"
  export TOUTIAO_RECO_TARGET=127.0.0.1:$RPC_PORT
}

# log_problems LOG...: the first error lines of each log.
log_problems() {
  local errors='Traceback|ERROR|CRITICAL|WORKER TIMEOUT|exited with code|Exception' log problems
  for log in "$@"; do
    problems=$(grep -cE "$errors" "$log" || true)
    if [ "$problems" != 0 ]; then
      say "$problems error lines in $log, the first ones:"
      grep -m 10 -E "$errors" "$log" >&2
    fi
  done
}
