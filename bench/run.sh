#!/usr/bin/env bash
# The benchmark in one command: a production-like toutiao stack on this machine (MariaDB,
# Redis, the recommendation service as its own process, the API under gunicorn with uvicorn
# workers, 10,000 demo articles), driven by bench/load.py from a separate process; prints
# req/s, p50/p99 and the ratio of each endpoint to the floor (GET /app/), writes
# bench/results/latest.json, and stops everything it started. See bench/README.md.
#
#   bench/run.sh [--fresh] [load.py options, e.g. --tool both --rounds 3 --duration 10]
#   bench/run.sh --scale [--fresh] [load.py options]
#
# --fresh rebuilds the database even when it already holds the same demo data.
# --scale runs the same endpoints at 10,000 and 100,000 articles (BENCH_SCALE_SIZES), a
# database per size, logged in as the heaviest and some light readers, then prints per
# endpoint the CPU ms, SQL and Redis calls per request at each size, their ratio, each
# process's peak memory and the restart times (bench/scale.py).
# BENCH_REDIS_CLUSTER=1 puts the cache and storage on a 3-master Redis Cluster it starts;
# BENCH_SKIP_INDEX=1 skips the similar-articles index build (minutes on a busy machine).
# BENCH_PERF=1 records every CPU with perf while the load runs, then names what shared the
# CPUs with the API while its answers were slow (bench/episodes.py, OUT/episodes.json).
# BENCH_WARM_ARTICLES=N warms the newest N approved articles' caches instead of all of them
# (at a million articles, warming all takes about an hour).
# BENCH_CENSUS=1 counts, after the load, what the garbage collector tracks in each API worker
# and the recommendation service, by type (bench/heap_census.py, OUT/census-PID.txt; gdb).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }

FRESH=0
SCALE=0
LOAD_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) FRESH=1 ;;
    --scale) SCALE=1 ;;
    -h | --help) usage; exit 0 ;;
    *) LOAD_ARGS+=("$1") ;;
  esac
  shift
done

if [ "$SCALE" = 1 ]; then
  # One ordinary run per size (this script again), each with its own database, reused
  # while the demo data is unchanged; then the side-by-side table.
  outs=()
  again=()
  [ "$FRESH" = 1 ] && again=(--fresh)
  for size in ${BENCH_SCALE_SIZES:-10000 100000}; do
    out=bench/results/scale-$size
    BENCH_ARTICLES=$size BENCH_DB_NAME=toutiao_bench_$size BENCH_OUT=$out BENCH_READERS=heavy \
      BENCH_RESTART=1 "$0" ${again[@]+"${again[@]}"} \
      ${LOAD_ARGS[@]+"${LOAD_ARGS[@]}"} || echo "[bench] the run at $size articles failed" >&2
    outs+=("$out")
  done
  exec "${BENCH_VENV:-.venv}/bin/python" bench/scale.py "${outs[@]}"
fi

ARTICLES=${BENCH_ARTICLES:-10000}
USERS=${BENCH_USERS:-200}
OUT=${BENCH_OUT:-bench/results}
LOGS=$OUT/logs
. bench/_stack.sh  # the virtualenv, settings, the stamped database, processes stopped on exit
mkdir -p "$LOGS"

stack_settings "${BENCH_DB_NAME:-toutiao_bench}" "${BENCH_REDIS_DB:-14}" "$PWD/$OUT/var"
demo_database "$ARTICLES" "$USERS" "$FRESH"
if [ "${BENCH_READERS:-}" = heavy ]; then
  # The 4 readers with the longest like/dislike histories and 4 median ones.
  MOBILES=$(sql "$DB_NAME" -e "
    (SELECT u.mobile FROM user_basic u JOIN news_attitude a ON a.user_id = u.user_id
     GROUP BY u.user_id, u.mobile ORDER BY COUNT(*) DESC LIMIT 4)
    UNION ALL
    (SELECT mobile FROM (SELECT u.mobile, COUNT(*) n FROM user_basic u
       JOIN news_attitude a ON a.user_id = u.user_id GROUP BY u.user_id, u.mobile) t
     ORDER BY ABS(n - 42) LIMIT 4)" | paste -sd, -)
  say "readers: $(sql "$DB_NAME" -e "SELECT COUNT(*) FROM news_attitude a JOIN user_basic u
    ON u.user_id = a.user_id WHERE FIND_IN_SET(u.mobile, '$MOBILES') GROUP BY u.user_id
    ORDER BY 1 DESC" | paste -sd' ' -) likes/dislikes each"
else
  MOBILES=$(sql "$DB_NAME" -e 'SELECT mobile FROM user_basic WHERE status = 1 ORDER BY user_id LIMIT 8' |
    paste -sd, -)
fi
sql "$DB_NAME" -e 'SELECT article_id FROM news_article_basic WHERE status = 2
                   ORDER BY article_id DESC' >"$OUT/approved_ids.txt"
head -n 300 "$OUT/approved_ids.txt" >"$OUT/fallback_ids.txt"
if [ -n "${BENCH_WARM_ARTICLES:-}" ]; then
  head -n "$BENCH_WARM_ARTICLES" "$OUT/approved_ids.txt" >"$OUT/warm_ids.txt"
  say "warming the newest $BENCH_WARM_ARTICLES approved articles (BENCH_WARM_ARTICLES)"
else
  cp "$OUT/approved_ids.txt" "$OUT/warm_ids.txt"
fi

RPC_PID=""
RPC="not available (the feed uses its local recall)"
if "$TOUTIAO" rpc --help >/dev/null 2>&1; then
  start_rpc "$LOGS/rpc.log"
  RPC="toutiao rpc on 127.0.0.1:$RPC_PORT (pid $RPC_PID)"
  # The similar-articles index is built by the task tier: the scheduler enqueues its refresh
  # at start (a full build on an empty index), a worker runs it.
  "$TOUTIAO" worker >"$LOGS/worker.log" 2>&1 &
  TASK_PID=$!
  PIDS+=("$TASK_PID")
  "$TOUTIAO" scheduler >"$LOGS/scheduler.log" 2>&1 &
  SCHED_PID=$!
  PIDS+=("$SCHED_PID")
fi
say "recommendation service: $RPC"

start_api "$LOGS/api.log"

if [ -n "$RPC_PID" ] && [ "${BENCH_SKIP_INDEX:-0}" = 1 ]; then
  say "BENCH_SKIP_INDEX=1: no similar-articles index (related lists stay empty)"
elif [ -n "$RPC_PID" ]; then
  # The task worker builds the similar-articles index from scratch (Redis was flushed), in
  # worker processes; nothing is measured before it is done: wait for the index's meta key,
  # then for the worker and its children to idle (< 5 % of a core over 3 s).
  say "waiting for the start-up similar-articles index build (task worker)"
  started=$SECONDS
  "$PY" - "$TASK_PID" 3600 <<'PY' || die "similar-articles index not built after 3600 s; log: $LOGS/worker.log"
import os, sys, time

import redis

pid, limit = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + limit
tck = os.sysconf("SC_CLK_TCK")
try:
    from toutiao.recommend.keys import INDEX_META
except ImportError:  # renamed: rely on idling alone
    INDEX_META = None
url = os.environ["TOUTIAO_REDIS_URL"]
if url.startswith("redis+cluster://"):
    host, port = url.removeprefix("redis+cluster://").split(",")[0].rsplit(":", 1)
    client = redis.RedisCluster(host=host, port=int(port))
else:
    client = redis.Redis.from_url(url)
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
  INDEX_SECONDS=$((SECONDS - started))
  say "recommendation service ready after $INDEX_SECONDS s:" \
    "$(grep -o 'recommend.similar_rebuilt.*' "$LOGS/worker.log" | tail -n 1)"
fi

# -- load ------------------------------------------------------------------------------------
PERF_PID=""
if [ "${BENCH_PERF:-0}" = 1 ]; then
  # Every CPU, a sample each 2 ms with wall-clock times, for bench/episodes.py below.
  perf record -a -F 499 -k CLOCK_REALTIME -o "$OUT/perf.data" >"$LOGS/perf.log" 2>&1 &
  PERF_PID=$!
  PIDS+=("$PERF_PID")
fi
set +e
"$PY" bench/load.py --base "$BASE" --api-pid "$API_PID" ${RPC_PID:+--rpc-pid "$RPC_PID"} \
  --redis-port "$REDIS_PORT" --mobiles "$MOBILES" --fallback-ids "$OUT/fallback_ids.txt" \
  --warm-ids "$OUT/warm_ids.txt" \
  --redis-url "$REDIS_COUNT_URL" \
  --mysql-url "$MYSQL_URL" \
  --meta "stack=MariaDB $DB_NAME, $REDIS_KIND, gunicorn $WORKERS x $WORKER_CLASS" \
  --meta "rpc=$RPC" --meta "demo_data=$DEMO_STAMP" \
  --out "$OUT/latest.json" ${LOAD_ARGS[@]+"${LOAD_ARGS[@]}"}
rc=$?
if [ "${BENCH_CENSUS:-0}" = 1 ]; then
  say "what the collector tracks in each API worker and the recommendation service"
  # shellcheck disable=SC2046
  "$PY" bench/heap_census.py --out "$OUT" $(pgrep -P "$API_PID") ${RPC_PID:+"$RPC_PID"} ||
    say "no census (bench/heap_census.py needs gdb and ptrace rights)"
fi
if [ -n "$PERF_PID" ]; then
  kill -INT "$PERF_PID" && wait "$PERF_PID"
  say "what shared the CPUs while answers were slow (bench/episodes.py)"
  "$PY" bench/episodes.py --perf "$OUT/perf.data" --access-log "$LOGS/api.log" \
    --results "$OUT/latest.json" --out "$OUT/episodes.json" || say "episodes failed"
fi
# A new reader's visit over HTTP: pull to refresh, scroll back, several channels (walk.py).
say "a new reader's visit (bench/walk.py)"
"$PY" bench/walk.py --base "$BASE" --out "$OUT/walk.json" || rc=1
set -e

# Peak resident memory of every process the bench started (before any restart resets it),
# the storage each size needs, and how long a restarted service takes to answer.
"$PY" bench/scale.py --measure "$OUT/memory.json" --db "$DB_NAME" \
  --redis-url "$TOUTIAO_REDIS_URL" --mysql-url "$MYSQL_URL" --seed-seconds "${SEED_SECONDS:-null}" \
  --index-seconds "${INDEX_SECONDS:-null}" --role "api=$API_PID" ${RPC_PID:+--role "rpc=$RPC_PID"} \
  ${TASK_PID:+--role "worker=$TASK_PID"} ${SCHED_PID:+--role "scheduler=$SCHED_PID"} ||
  say "memory figures failed"
if [ -n "${BENCH_RESTART:-}" ] && [ -n "$RPC_PID" ]; then
  probe_id=$(head -n 1 "$OUT/approved_ids.txt")
  say "restarting toutiao rpc (the index stays in Redis)"
  kill -TERM "$RPC_PID"
  wait "$RPC_PID" 2>/dev/null || true
  restart_started=$(date +%s.%N)
  TOUTIAO_RECO_PORT=$RPC_PORT "$TOUTIAO" rpc --port "$RPC_PORT" >"$LOGS/rpc-restart.log" 2>&1 &
  RPC_PID=$!
  PIDS+=("$RPC_PID")
  "$PY" bench/scale.py --restarted rpc --target "127.0.0.1:$RPC_PORT" --article "$probe_id" \
    --since "$restart_started" \
    --into "$OUT/memory.json" || say "toutiao rpc did not serve similar articles after restart"
  say "restarting the API"
  kill -TERM "$API_PID"
  wait "$API_PID" 2>/dev/null || true
  restart_started=$(date +%s.%N)
  start_api "$LOGS/api-restart.log"
  "$PY" bench/scale.py --restarted api --base "$BASE" --article "$probe_id" \
    --since "$restart_started" --into "$OUT/memory.json" ||
    say "the API did not serve similar articles after restart"
fi

kill -0 "$API_PID" 2>/dev/null || say "the API master died during the run; log: $LOGS/api.log"
[ -z "$RPC_PID" ] || kill -0 "$RPC_PID" 2>/dev/null || say "toutiao rpc died; log: $LOGS/rpc.log"
log_problems "$LOGS/api.log" ${RPC_PID:+"$LOGS/rpc.log"}
fallbacks=$(grep -c 'reco.call_failed' "$LOGS/api.log" || true)
[ "$fallbacks" = 0 ] ||
  say "$fallbacks reco.call_failed warnings in api.log (rate-limited; each stands for one or" \
    "more calls that fell back to the local recall):" \
    "$(grep -o 'method=[a-z_]* reason=[A-Z_]*' "$LOGS/api.log" | sort | uniq -c | tr -s ' ' | paste -sd';' -)"
exit "$rc"
