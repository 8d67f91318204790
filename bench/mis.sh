#!/usr/bin/env bash
# The operations console under load, in one command: the review queue and article filters
# (M37) and the dashboard (M56) at BENCH_MIS_ARTICLES demo articles (default 100,000), a
# tenth of them pending review; a MariaDB database of its own (toutiao_bench_mis), the API
# under gunicorn with uvicorn workers, driven by bench/mis.py against the floor GET /app/ in
# the same run; prints the table, writes bench/results/mis.json and stops what it started.
#
#   bench/mis.sh [--fresh] [--setup-only] [mis.py options, e.g. --rounds 3 --tool python]
#
# --fresh seeds the database again; --setup-only builds/reuses it, then stops.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

FRESH=0
SETUP_ONLY=0
LOAD_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) FRESH=1 ;;
    --setup-only) SETUP_ONLY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) LOAD_ARGS+=("$1") ;;
  esac
  shift
done

. bench/_stack.sh

ARTICLES=${BENCH_MIS_ARTICLES:-100000}
# The demo seed writes articles one by one with their likes, comments and collections (about
# 20 ms each on a loaded 2-core box); the review queue and the dashboard need many article
# rows, not their interactions: seed this many, then copy rows up to ARTICLES in SQL.
SEED_ARTICLES=${BENCH_MIS_SEED_ARTICLES:-5000}
[ "$SEED_ARTICLES" -le "$ARTICLES" ] || SEED_ARTICLES=$ARTICLES
USERS=${BENCH_MIS_USERS:-300}
OUT=$RESULTS/mis
LOGS=$OUT/logs
ACCOUNT=benchadmin
PASSWORD=bench246810
mkdir -p "$LOGS"
stack_settings "${BENCH_MIS_DB_NAME:-toutiao_bench_mis}" "${BENCH_MIS_REDIS_DB:-7}" "$PWD/$OUT/var"
# Staff sign in with a password: no SMS, no demo code. Production refuses the shared stack's
# demo SMS settings, so this bench runs the same stack as a development environment.
export TOUTIAO_ENV=development TOUTIAO_DEMO=false
demo_database "$SEED_ARTICLES" "$USERS" "$FRESH"

# copy_articles TARGET: copies of the seeded articles (basic row and content) under ids shifted
# past the largest one, each copy's creation time moved 1-92 days back (so the dashboard's
# windows and the date filters see a spread), until the table holds TARGET rows.
copy_articles() {
  local target=$1 have round=0 started
  started=$(date +%s.%N)
  have=$(sql "$DB_NAME" -e 'SELECT COUNT(*) FROM news_article_basic')
  while [ "$have" -lt "$target" ]; do
    round=$((round + 1))
    sql "$DB_NAME" -e "
      SET @low := (SELECT MIN(article_id) FROM news_article_basic);
      SET @shift := (SELECT MAX(article_id) FROM news_article_basic) - @low + 1;
      CREATE TEMPORARY TABLE copy_rows AS
        SELECT * FROM news_article_basic ORDER BY article_id LIMIT $((target - have));
      SET @high := (SELECT MAX(article_id) FROM copy_rows);
      UPDATE copy_rows SET article_id = article_id + @shift,
        create_time = create_time - INTERVAL (1 + article_id % 92) DAY,
        update_time = create_time;
      INSERT INTO news_article_basic SELECT * FROM copy_rows;
      INSERT INTO news_article_content (article_id, content, create_time, update_time)
        SELECT article_id + @shift, content, create_time, update_time
        FROM news_article_content WHERE article_id BETWEEN @low AND @high;"
    have=$(sql "$DB_NAME" -e 'SELECT COUNT(*) FROM news_article_basic')
  done
  if [ "$round" -gt 0 ]; then
    sql "$DB_NAME" -e 'ANALYZE TABLE news_article_basic' >/dev/null
    say "copied articles up to $have rows in $round rounds, $("$PY" -c "import time; print(round(time.time() - $started, 1))") s"
  fi
}
copy_articles "$ARTICLES"

# A review queue: every tenth article waits for review (the demo seed approves nearly all).
sql "$DB_NAME" -e 'UPDATE news_article_basic SET status = 1, reviewer_id = NULL
                   WHERE article_id % 10 = 0 AND status = 2'
"$TOUTIAO" stats fix >/dev/null
# The statistics tables from what the database records (sign-ups), the last 92 days.
"$TOUTIAO" stats rollup --begin "$(date -d '91 days ago' +%F)" --end "$(date +%F)" | tail -n 1
"$TOUTIAO" admin create --account "$ACCOUNT" --password "$PASSWORD" >/dev/null
[ "$SETUP_ONLY" = 1 ] && exit 0

PENDING=$(sql "$DB_NAME" -e 'SELECT COUNT(*) FROM news_article_basic WHERE status = 1')
TOTAL=$(sql "$DB_NAME" -e 'SELECT COUNT(*) FROM news_article_basic')
sql "$DB_NAME" -e 'SELECT channel_name FROM news_channel' >"$OUT/channels.txt"
sql "$DB_NAME" -e 'SELECT title FROM news_article_basic WHERE article_id % 97 = 0 LIMIT 500' \
  >"$OUT/titles.txt"
sql "$DB_NAME" -e 'SELECT DISTINCT user_id FROM news_article_basic LIMIT 50' >"$OUT/authors.txt"

start_api "$LOGS/api.log"

set +e
"$PY" bench/mis.py --base "$BASE" --api-pid "$API_PID" --redis-port "$REDIS_PORT" \
  --account "$ACCOUNT" --password "$PASSWORD" \
  --channels "$OUT/channels.txt" --titles "$OUT/titles.txt" --authors "$OUT/authors.txt" \
  --redis-url "redis://$REDIS_HOST:$REDIS_PORT" --mysql-url "$MYSQL_URL" \
  --meta "stack=MariaDB $DB_NAME, Redis db $REDIS_DB, gunicorn $WORKERS x $WORKER_CLASS" \
  --meta "demo_data=$DEMO_STAMP" --meta "articles=$TOTAL" --meta "pending=$PENDING" \
  --meta "seed_seconds=$SEED_SECONDS" \
  --out "$RESULTS/mis.json" ${LOAD_ARGS[@]+"${LOAD_ARGS[@]}"}
rc=$?
set -e
kill -0 "$API_PID" 2>/dev/null || say "the API master died during the run; log: $LOGS/api.log"
log_problems "$LOGS/api.log"
exit "$rc"
