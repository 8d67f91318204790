#!/usr/bin/env bash
# Warm feed and article detail on a 3-master Redis Cluster beside a single Redis server, in
# one run: bench/run.sh twice on the same demo database (standalone, then
# BENCH_REDIS_CLUSTER=1), the same endpoints, then each endpoint's cluster req/s as a share
# of its standalone req/s (the target: >= 80 %). See bench/README.md.
#
#   bench/cluster.sh [load.py options, e.g. --rounds 3 --duration 10]
set -euo pipefail
cd "$(dirname "$0")/.."
ONLY=floor,feed_anon,feed_user,feed_replay,detail,detail_user
OUT=bench/results
# Both runs without the similar-articles index: a fresh cluster would need its own build
# (minutes), and the pages compared do not depend on it being the same.
export BENCH_SKIP_INDEX=${BENCH_SKIP_INDEX:-1}
bench/run.sh --only "$ONLY" --out "$OUT/standalone.json" "$@"
BENCH_REDIS_CLUSTER=1 bench/run.sh --only "$ONLY" --out "$OUT/cluster.json" "$@"
"${BENCH_VENV:-.venv}/bin/python" - "$OUT/standalone.json" "$OUT/cluster.json" <<'PY'
import json, sys

def rows(path):
    report = json.load(open(path))
    results = next(iter(report["results"].values()))
    return {r["key"]: r for r in results}

one, many = rows(sys.argv[1]), rows(sys.argv[2])
# Two shares: raw req/s, and the ratio to each half's own floor (GET /app/, no Redis), which
# cancels a machine that got busier or quieter between the halves. The verdict uses the
# second when the floors differ by more than 10 %.
floors = (one["floor"]["rps"], many["floor"]["rps"])
drift = abs(floors[1] / floors[0] - 1) if floors[0] else 0
print(f"floors: standalone {floors[0]:.0f} req/s, cluster {floors[1]:.0f} req/s ({drift:.0%} apart)")
print(f"{'endpoint':<34} {'standalone':>10} {'cluster':>8} {'share':>6} "
      f"{'x floor':>8} {'x floor':>8} {'share':>6}")
for key, r in one.items():
    c = many.get(key)
    if not c:
        continue
    share = c["rps"] / r["rps"] if r["rps"] else 0
    ratios = (r.get("ratio_to_floor") or 0, c.get("ratio_to_floor") or 0)
    by_floor = ratios[1] / ratios[0] if ratios[0] else 0
    judged = by_floor if drift > 0.1 else share
    verdict = "" if key == "floor" else ("meets" if judged >= 0.8 else "MISSES") + " 80 %"
    print(f"{r['label']:<34} {r['rps']:>10.0f} {c['rps']:>8.0f} {share:>6.0%} "
          f"{ratios[0]:>8.2f} {ratios[1]:>8.2f} {by_floor:>6.0%} {verdict}")
PY
