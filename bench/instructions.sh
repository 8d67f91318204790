#!/usr/bin/env bash
# Instructions per request of the API process, counted by callgrind: the floor and the feed
# (fresh anonymous, fresh logged in, scrolling back), the app called in-process against the
# bench's MariaDB database, a Redis database and `toutiao rpc`, which run outside the count.
# The same code gives the same counts on a busy machine: for comparing two commits where
# req/s moves more with the machine than with the change. See bench/README.md.
#
#   bench/instructions.sh [--requests 200] [--pause 10]
#   bench/instructions.sh --time [--requests 1000]   # CPU time per request instead (seconds)
#   bench/instructions.sh --profile anonymous [--requests 2000]   # where one phase's time goes
#     (cProfile, no valgrind; BENCH_PROFILE_CALLERS=regex also prints who calls those functions;
#     BENCH_PROFILE_OUT=file keeps the raw stats)
#
# Needs valgrind (callgrind_control); builds or reuses the demo database like run.sh
# (BENCH_DB_NAME, default toutiao_bench; BENCH_REDIS_DB, default 13, is flushed). About 10
# minutes: valgrind runs Python some 50 times slower.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/_stack.sh
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
  die "valgrind is needed (apt-get install valgrind)"

OUT=$RESULTS/instructions
rm -rf "$OUT"
mkdir -p "$OUT"
stack_settings "${BENCH_DB_NAME:-toutiao_bench}" "${BENCH_REDIS_DB:-13}" "$PWD/$OUT/var"
demo_database "${BENCH_ARTICLES:-10000}" "${BENCH_USERS:-200}" 0

start_rpc "$OUT/rpc.log"
if [[ " $* " == *" --profile "* || " $* " == *" --time "* ]]; then  # no valgrind
  "$PY" bench/instructions.py "$@"
  exit
fi
say "counting under callgrind (about 10 minutes)"
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
  "$PY" bench/instructions.py "$@" >"$OUT/run.log" 2>&1 ||
  { tail -n 30 "$OUT/run.log" >&2; die "the counted run failed; log: $OUT/run.log"; }
"$PY" - "$OUT" "$@" <<'PY'
import glob, re, sys
out, args = sys.argv[1], sys.argv[2:]
requests = int(args[args.index("--requests") + 1]) if "--requests" in args else 200
parts = {}
for path in glob.glob(f"{out}/callgrind.out.*"):
    text = open(path, errors="replace").read()
    trigger = re.search(r"^desc: Trigger: dump (.*)$", text, re.M)
    total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    if trigger and total:
        parts[trigger.group(1)] = int(total.group(1))
idle = parts["after idle"]
floor = None
print(f"{'phase':24} {'instructions/request':>21} {'x floor':>8}")
for label in ("floor", "feed, anonymous", "feed, logged in", "feed, scrolling back",
              "detail, anonymous", "detail, logged in", "comments"):
    per = (parts[f"after {label}"] - idle) / requests
    floor = floor or per
    print(f"{label:24} {per:>21,.0f} {floor / per:>8.2f}")
print(f"(idle phase, taken off each: {idle:,} instructions; {requests} requests a phase)")
PY
