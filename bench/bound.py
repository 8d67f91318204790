"""What a page of the app costs against the floor before it does any work of its own: the
floor ``GET /app/`` and four endpoints that only make Redis round trips (``bound_app.py``),
measured like ``load.py``'s rows (wrk, 16 connections, the ratio to the floor of the round).

Run by bench/bound.sh; usable on its own against a stack serving ``bench.bound_app:app``:

    python bench/bound.py --base http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from load import (
    CpuMeter,
    Endpoint,
    Result,
    ServerCounters,
    add_load_args,
    check_load_args,
    combine,
    emit,
    git_head,
    run_wrk,
    table,
    wait_quiet,
    with_ratios,
    write_report,
)

HERE = Path(__file__).resolve().parent
ORDER = [
    ("floor", "floor GET /app/ (route map)", "/app/"),
    ("one_trip", "one round trip (1 command)", "/bench/one-trip"),
    ("two_trips", "two round trips (1 command each)", "/bench/two-trips"),
    ("feed_trips", "the fresh feed's round trips + page", "/bench/feed-trips"),
    ("feed_one_trip", "its 20 commands in one trip + page", "/bench/feed-one-trip"),
]


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="http://127.0.0.1:8000", help="API base URL (loopback)")
    add_load_args(p, rounds=2, tool=False)
    p.add_argument("--api-pid", type=int, help="gunicorn master pid (CPU accounting)")
    p.add_argument("--redis-port", type=int, default=6379)
    p.add_argument("--redis-url", help="Redis server to count commands on (redis://h:p)")
    p.add_argument("--out", default=str(HERE / "results" / "bound.json"))
    args = p.parse_args(argv)
    args.tool = "wrk"
    check_load_args(p, args)
    if args.tool != "wrk":
        p.error("wrk is needed (apt-get install wrk)")
    return args


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    base = args.base.rstrip("/")
    meter = CpuMeter(args.api_pid, None, args.redis_port, ServerCounters(args.redis_url, None))
    eps = []
    for key, label, path in ORDER:
        ep = Endpoint(key, label)
        ep.targets = [(path, {})]
        eps.append(ep)
    rounds: list[list[Result]] = []
    with tempfile.TemporaryDirectory(prefix="toutiao-bench-bound-") as tmp:
        for number in range(1, args.rounds + 1):
            asyncio.run(wait_quiet(args.wait_quiet, args.quiet_below))
            rows = []
            for ep in eps:
                emit(f"  round {number}/{args.rounds}: {ep.label}", err=True)
                rows.append(run_wrk(base, ep, args, meter, Path(tmp)))
            rounds.append(with_ratios(rows))
    results = combine(rounds)
    emit(
        f"\n== wrk: {args.connections} connections, {args.duration}s per endpoint, "
        f"median of {args.rounds} rounds =="
    )
    emit(table(results, {}))
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": base,
        "settings": {"connections": args.connections, "duration_s": args.duration},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "git": git_head(),
        "results": [asdict(r) for r in results],
    }
    emit(f"\nwritten: {write_report(Path(args.out), report)}")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
