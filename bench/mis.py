"""Operations console load: the review queue and article filters (M37) and the dashboard
(M56), against the floor ``GET /app/`` of the same run.

Run by bench/mis.sh; usable on its own against a stack you started:

    python bench/mis.py --base http://127.0.0.1:8000 --account admin --password admin246810 \
        --channels channels.txt --titles titles.txt

Every request carries a staff token (one login, M02), so each one also pays the staff
checks of mis.md §1.6 (token, account, group, permission code). Targets rotate:

- review queue: ``status_list=1&order_by=create_time`` over pages 1-50 (a deep page costs
  its offset);
- article filters: content management's combinations (channel name part, title word,
  status sets, creation ranges, author), each over pages 1-3;
- dashboard: the default last 7 days, and 30- and 92-day windows.

The measured load reuses bench/load.py's drivers, CPU meter and ratio arithmetic.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from load import (
    Api,
    CpuMeter,
    Endpoint,
    ServerCounters,
    add_load_args,
    check_load_args,
    emit,
    excerpt,
    git_head,
    measure_rounds,
    run_cli,
    table,
    write_report,
)

HERE = Path(__file__).resolve().parent
ORDER = [
    ("floor", "floor GET /app/ (route map)"),
    ("review_queue", "M37 review queue (pending, FIFO)"),
    ("article_filters", "M37 article list, filters"),
    ("dashboard", "M56 dashboard"),
]


def articles_path(**params: Any) -> str:
    return "/mis/v1_0/articles?" + urlencode(params)


def filter_targets(
    channels: list[str], titles: list[str], authors: list[str], seed: int
) -> list[str]:
    """Content management's queries: one or two filters at a time, like a person would."""
    rng = random.Random(seed)
    today = date.today()  # noqa: DTZ011 - server-local dates, as the API reads them
    paths = []
    for _ in range(300):
        params: dict[str, Any] = {"page": rng.randint(1, 3)}
        kind = rng.randrange(6)
        if kind == 0 and channels:
            params["channel"] = rng.choice(channels)[:2]
        elif kind == 1 and titles:
            params["title"] = rng.choice(titles)[:2]
        elif kind == 2:
            params["status_list"] = rng.choice(["2", "1,2", "3,5", "4"])
        elif kind == 3:
            start = today - timedelta(days=rng.randint(1, 60))
            params["begin"], params["end"] = (
                start.isoformat(),
                (start + timedelta(days=7)).isoformat(),
            )
        elif kind == 4 and authors:
            params["user_id"] = rng.choice(authors)
            params["status_list"] = "1,2"
        else:
            params["order_by"] = "id"
            params["status_list"] = "2"
        paths.append(articles_path(**params))
    return paths


def dashboard_targets() -> list[str]:
    today = date.today()  # noqa: DTZ011
    paths = ["/mis/v1_0/statistics_dashboard"] * 4
    for days in (30, 92):
        begin = (today - timedelta(days=days - 1)).isoformat()
        paths.append(f"/mis/v1_0/statistics_dashboard?begin={begin}&end={today.isoformat()}")
    return paths


def endpoints(args: argparse.Namespace, token: str) -> dict[str, Endpoint]:
    headers = {"Authorization": f"Bearer {token}"}
    eps = {key: Endpoint(key, label) for key, label in ORDER}
    eps["floor"].targets = [("/app/", {})]
    eps["review_queue"].targets = [
        (articles_path(status_list="1", order_by="create_time", page=page), headers)
        for page in range(1, 51)
    ]
    eps["article_filters"].targets = [
        (path, headers) for path in filter_targets(args.channels, args.titles, args.authors, 7)
    ]
    eps["dashboard"].targets = [(path, headers) for path in dashboard_targets()]
    return eps


async def login(client: Api, account: str, password: str) -> str:
    response = await client.post(
        "/mis/v1_0/authorizations", json={"account": account, "password": password}
    )
    if response.status_code != 201:
        raise SystemExit(f"staff login failed: {excerpt(response)}")
    return str(response.json()["data"]["token"])


async def first_pass(client: Api, ep: Endpoint) -> dict[str, Any]:
    """Every target once, timed: the cold cost, and a check that each answers 200."""
    latencies, statuses, totals = [], Counter[int](), []
    for path, headers in ep.targets:
        t0 = time.perf_counter()
        response = await client.get(path, headers=headers)
        latencies.append(1000 * (time.perf_counter() - t0))
        statuses[response.status_code] += 1
        if response.status_code != 200:
            ep.skipped = f"{path}: {excerpt(response)}"
            break
        data = response.json()["data"]
        if "total_count" in data:
            totals.append(data["total_count"])
    latencies.sort()
    return {
        "requests": len(latencies),
        "statuses": dict(statuses),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "median_total_count": statistics.median(totals) if totals else None,
    }


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="http://127.0.0.1:8000", help="API base URL (loopback)")
    p.add_argument("--account", default="admin", help="staff account with every permission")
    p.add_argument("--password", default="admin246810")
    p.add_argument("--channels", help="file of channel names, one a line")
    p.add_argument("--titles", help="file of article titles, one a line")
    p.add_argument("--authors", help="file of author user ids, one a line")
    add_load_args(p)
    p.add_argument("--only", help="comma-separated keys: " + ",".join(k for k, _ in ORDER))
    p.add_argument("--api-pid", type=int, help="gunicorn master pid (CPU accounting)")
    p.add_argument("--redis-port", type=int, default=6379)
    p.add_argument("--redis-url", help="Redis server to count commands on (redis://h:p)")
    p.add_argument("--mysql-url", help="MariaDB to count statements on (mysql://u:pw@h:p)")
    p.add_argument("--meta", action="append", default=[], help="KEY=VALUE recorded in the JSON")
    p.add_argument("--out", default=str(HERE / "results" / "mis.json"))
    args = p.parse_args(argv)
    args.rpc_pid = None

    def lines(path: str | None) -> list[str]:
        return [x for x in Path(path).read_text().splitlines() if x.strip()] if path else []

    args.channels, args.titles, args.authors = (
        lines(args.channels),
        lines(args.titles),
        lines(args.authors),
    )
    check_load_args(p, args)
    return args


async def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    base = args.base.rstrip("/")
    wanted = [k for k, _ in ORDER if not args.only or k == "floor" or k in args.only.split(",")]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60.0)) as session:
        client = Api(session, base)
        health = await client.get("/healthz")
        eps = endpoints(args, await login(client, args.account, args.password))
        passes = {}
        for key in wanted:
            if key != "floor":
                emit(f"first pass: {eps[key].label} ({len(eps[key].targets)} targets)", err=True)
                passes[key] = await first_pass(client, eps[key])
    emit(f"first pass: {json.dumps(passes, ensure_ascii=False)}", err=True)
    meter = CpuMeter(
        args.api_pid, None, args.redis_port, ServerCounters(args.redis_url, args.mysql_url)
    )
    results, background = await measure_rounds(base, eps, wanted, args, meter)
    for tool, rows in results.items():
        emit(f"\n== {tool}: {args.connections} connections, {args.duration:g}s per endpoint ==")
        emit(table(rows, {}))
    skipped = {k: eps[k].skipped for k in wanted if eps[k].skipped}
    for key, why in skipped.items():
        emit(f"{dict(ORDER)[key]:<34} not measured: {why}")
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": base,
        "settings": {
            "connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "background_cpu_pct_before_each_round": [round(b, 1) for b in background],
            "tools": list(results),
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "git": git_head(),
        "meta": dict(item.split("=", 1) for item in args.meta if "=" in item),
        "healthz": health.json() if health.status_code < 500 else excerpt(health),
        "first_pass": passes,
        "skipped": skipped,
        "results": {tool: [asdict(r) for r in rows] for tool, rows in results.items()},
    }
    emit(f"\nwritten: {write_report(Path(args.out), report)}")
    return 1 if skipped or any(r.errors for rows in results.values() for r in rows) else 0


if __name__ == "__main__":
    run_cli(main)
