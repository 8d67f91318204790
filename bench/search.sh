#!/usr/bin/env bash
# Search (E05) and suggestion (E04) throughput at 100,000 demo articles, in one command: a
# MariaDB database of its own (toutiao_bench_search), the embedded Tantivy index under
# bench/results/search/var, the API under gunicorn with uvicorn workers, driven by
# bench/search.py (wrk) against the floor GET /app/ in the same run; prints the table, writes
# bench/results/search.json and stops everything it started. See bench/README.md.
#
#   bench/search.sh [--fresh] [--reindex] [--setup-only] [search.py options, e.g. --rounds 3]
#
# --fresh seeds the database again (and reindexes); --reindex rebuilds only the index;
# --setup-only builds/reuses the database and the index, then stops.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

FRESH=0
REINDEX=0
SETUP_ONLY=0
LOAD_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) FRESH=1 ;;
    --reindex) REINDEX=1 ;;
    --setup-only) SETUP_ONLY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) LOAD_ARGS+=("$1") ;;
  esac
  shift
done

. bench/_stack.sh

ARTICLES=${BENCH_SEARCH_ARTICLES:-100000}
USERS=${BENCH_SEARCH_USERS:-1000}
OUT=$RESULTS/search
LOGS=$OUT/logs
mkdir -p "$LOGS"
stack_settings "${BENCH_SEARCH_DB_NAME:-toutiao_bench_search}" "${BENCH_SEARCH_REDIS_DB:-8}" \
  "$PWD/$OUT/var"
demo_database "$ARTICLES" "$USERS" "$FRESH"

# -- the search index: rebuilt when the data or the search code changed ---------------------------
code=$(find toutiao/engines/search toutiao/search -type f -name '*.py' | sort | xargs cat |
  sha256sum | cut -c1-16)
index_stamp="$DEMO_STAMP search=$code"
STAMP_FILE=$DATA/search-bench-stamp.json
current=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['stamp'])" "$STAMP_FILE" \
  2>/dev/null || true)
if [ "$FRESH" = 1 ] || [ "$REINDEX" = 1 ] || [ "$current" != "$index_stamp" ]; then
  say "building the search index (toutiao search reindex)"
  rm -rf "$DATA/search" "$DATA/search-reindex.json"
  started=$(date +%s.%N)
  "$TOUTIAO" search reindex 2>&1 | tail -n 1
  INDEX_SECONDS=$("$PY" -c "import time; print(round(time.time() - $started, 1))")
  "$PY" -c "import json,sys; json.dump({'stamp': sys.argv[2], 'seconds': float(sys.argv[3])},
    open(sys.argv[1], 'w'))" "$STAMP_FILE" "$index_stamp" "$INDEX_SECONDS"
  say "indexed in $INDEX_SECONDS s ($(du -sh "$DATA/search" | cut -f1) on disk)"
else
  INDEX_SECONDS=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['seconds'])" \
    "$STAMP_FILE")
  say "reusing the search index (built in $INDEX_SECONDS s); --reindex rebuilds it"
fi
[ "$SETUP_ONLY" = 1 ] && exit 0

APPROVED=$(sql "$DB_NAME" -e 'SELECT COUNT(*) FROM news_article_basic WHERE status = 2')
MOBILES=$(sql "$DB_NAME" -e 'SELECT mobile FROM user_basic WHERE status = 1 ORDER BY user_id LIMIT 8' |
  paste -sd, -)
# Query material: titles of approved articles, spread over the whole id range.
sql "$DB_NAME" -e 'SELECT title FROM news_article_basic WHERE status = 2 AND article_id % 37 = 0
                   ORDER BY article_id LIMIT 3000' >"$OUT/titles.txt"

start_api "$LOGS/api.log"

set +e
"$PY" bench/search.py --base "$BASE" --api-pid "$API_PID" --redis-port "$REDIS_PORT" \
  --mobiles "$MOBILES" --titles "$OUT/titles.txt" \
  --redis-url "redis://$REDIS_HOST:$REDIS_PORT" --mysql-url "$MYSQL_URL" \
  --meta "stack=MariaDB $DB_NAME, Redis db $REDIS_DB, gunicorn $WORKERS x $WORKER_CLASS, tantivy" \
  --meta "demo_data=$DEMO_STAMP" --meta "approved_articles=$APPROVED" \
  --meta "seed_seconds=$SEED_SECONDS" --meta "index_seconds=$INDEX_SECONDS" \
  --meta "index_disk=$(du -sh "$DATA/search" | cut -f1)" \
  --out "$RESULTS/search.json" ${LOAD_ARGS[@]+"${LOAD_ARGS[@]}"}
rc=$?
set -e
kill -0 "$API_PID" 2>/dev/null || say "the API master died during the run; log: $LOGS/api.log"
log_problems "$LOGS/api.log"
exit "$rc"
