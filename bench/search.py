"""Search (E05) and suggestion (E04) load, against the floor ``GET /app/`` of the same run.

Run by bench/search.sh; usable on its own against a stack you started:

    python bench/search.py --base http://127.0.0.1:8000 --titles titles.txt

Queries are built from real article titles (``--titles``, one a line) with jieba, the way
readers type them: single words, two neighbouring words, a whole title; suggestion prefixes
of 1-6 characters; and a share of one-character typos. Every target is requested once before
the measurement (the article cards of page-1 hits land in Redis and the workers' caches, the
typo path builds its vocabulary); that pass is timed too and reported as the *first pass*.
The measured load reuses bench/load.py's wrk driver, CPU meter and ratio arithmetic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from load import (
    DEMO_CODE,
    Api,
    CpuMeter,
    Endpoint,
    Result,
    ServerCounters,
    add_load_args,
    check_load_args,
    combine,
    emit,
    excerpt,
    git_head,
    run_cli,
    run_python,
    run_wrk,
    table,
    wait_quiet,
    with_ratios,
    write_report,
)

HERE = Path(__file__).resolve().parent
CJK = re.compile(r"^[\u4e00-\u9fff]+$")
LATIN = re.compile(r"^[A-Za-z][A-Za-z0-9+#.]+$")
QUERY_MAX = 50

ORDER = [
    ("floor", "floor GET /app/ (route map)"),
    ("search_anon", "search, anonymous"),
    ("search_user", "search, logged in (+history)"),
    ("suggest", "suggestion, prefixes"),
    ("suggest_typo", "suggestion, typos (correction)"),
]


# -- queries ----------------------------------------------------------------------------------


def words_of(title: str) -> list[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [
        w for w in jieba.cut(title, HMM=False) if len(w) >= 2 and (CJK.match(w) or LATIN.match(w))
    ]


def typo(text: str, rng: random.Random, alphabet: list[str]) -> str:
    """One wrong character: a neighbour swap or a replacement by another title character."""
    chars = list(text)
    if len(chars) >= 3 and rng.random() < 0.3:
        i = rng.randrange(len(chars) - 1)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        i = rng.randrange(len(chars))
        letters = "abcdefghijklmnopqrstuvwxyz"
        chars[i] = rng.choice(letters if chars[i].isascii() else alphabet)
    return "".join(chars)


def build_queries(titles: list[str], count: int, seed: int) -> dict[str, list[str]]:
    """Search queries, suggestion prefixes and typo'd prefixes, ``count`` of each."""
    rng = random.Random(seed)
    segmented = [(t, words_of(t)) for t in titles if t.strip()]
    segmented = [(t, w) for t, w in segmented if w]
    alphabet = sorted({c for t, _ in segmented for c in t if CJK.match(c)})
    search, prefixes, typos = [], [], []
    while len(search) < count:
        title, words = rng.choice(segmented)
        roll = rng.random()
        if roll < 0.45:
            q = rng.choice(words)  # one word: "人工智能"
        elif roll < 0.75 and len(words) >= 2:
            i = rng.randrange(len(words) - 1)
            q = f"{words[i]} {words[i + 1]}" if rng.random() < 0.5 else words[i] + words[i + 1]
        elif roll < 0.9:
            q = title[:QUERY_MAX]  # the whole title, pasted
        else:
            q = typo(rng.choice(words), rng, alphabet)  # a misspelt word
        search.append(q.strip())
    while len(prefixes) < count:
        title, words = rng.choice(segmented)
        source = title if rng.random() < 0.6 else rng.choice(words)
        size = min(len(source), rng.choice((1, 2, 2, 3, 3, 4, 5, 6)))
        q = source[:size].strip()
        if q:
            prefixes.append(q)
    while len(typos) < count:
        title, words = rng.choice(segmented)
        source = rng.choice(words) if rng.random() < 0.5 else title[: rng.choice((3, 4, 5, 6))]
        if len(source) >= 2:
            typos.append(typo(source, rng, alphabet).strip())
    return {"search": search, "prefixes": prefixes, "typos": typos}


def search_path(q: str, page: int, per_page: int) -> str:
    return f"/app/v1_0/search?q={quote(q)}&page={page}&per_page={per_page}"


def suggest_path(q: str) -> str:
    return f"/app/v1_0/suggestion?q={quote(q)}"


def pages(rng: random.Random) -> tuple[int, int]:
    """Most readers stay on page 1; some scroll to page 2 or 3; per_page as the client sends."""
    page = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
    return page, rng.choice((10, 10, 10, 20))


def endpoints(queries: dict[str, list[str]], tokens: list[str], seed: int) -> dict[str, Endpoint]:
    rng = random.Random(seed + 1)
    eps = {key: Endpoint(key, label) for key, label in ORDER}
    eps["floor"].targets = [("/app/", {})]
    eps["search_anon"].targets = [(search_path(q, *pages(rng)), {}) for q in queries["search"]]
    if tokens:
        eps["search_user"].targets = [
            (search_path(q, *pages(rng)), {"Authorization": f"Bearer {tokens[i % len(tokens)]}"})
            for i, q in enumerate(reversed(queries["search"]))
        ]
    else:
        eps["search_user"].skipped = "no user could log in"
    eps["suggest"].targets = [(suggest_path(q), {}) for q in queries["prefixes"]]
    eps["suggest_typo"].targets = [(suggest_path(q), {}) for q in queries["typos"]]
    return eps


# -- discovery and the first pass -------------------------------------------------------------


async def login(client: Api, mobiles: list[str]) -> tuple[list[str], str | None]:
    tokens, failure = [], None
    for mobile in mobiles:
        response = await client.post(
            "/app/v1_0/authorizations", json={"mobile": mobile, "code": DEMO_CODE}
        )
        if response.status_code == 201:
            tokens.append(response.json()["data"]["token"])
        else:
            failure = f"{mobile}: {excerpt(response)}"
    return tokens, failure


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(int(q * len(values)), len(values) - 1)], 2)


async def first_pass(client: Api, ep: Endpoint, concurrency: int) -> dict[str, Any]:
    """Every target once (cold: the cards of the hits are not cached yet), recording what the
    queries find and how long each answer took; an endpoint whose first answer fails is
    skipped."""
    statuses: Counter[int] = Counter()
    found: list[int] = []
    latencies: list[float] = []
    failure: list[str] = []
    pending = iter(ep.targets)

    async def worker() -> None:
        for path, headers in pending:
            t0 = time.perf_counter()
            response = await client.get(path, headers=headers)
            latencies.append(1000 * (time.perf_counter() - t0))
            statuses[response.status_code] += 1
            if response.status_code != 200:
                if not failure:
                    failure.append(f"{path}: {excerpt(response)}")
                continue
            data = response.json()["data"]
            found.append(data["total_count"] if "total_count" in data else len(data["options"]))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if statuses.get(200, 0) == 0:
        ep.skipped = failure[0] if failure else "no answer"
    elif failure:
        emit(f"  warning: {ep.label}: non-200 answers in the first pass: {failure[0]}", err=True)
    what = "total_count" if ep.key.startswith("search") else "options"
    return {
        "requests": len(latencies),
        "seconds": round(time.perf_counter() - started, 1),
        "statuses": dict(statuses),
        "p50_ms": quantile(latencies, 0.5),
        "p99_ms": quantile(latencies, 0.99),
        f"empty_{what}_share": round(sum(1 for n in found if n == 0) / max(len(found), 1), 3),
        f"median_{what}": statistics.median(found) if found else None,
    }


# -- run ----------------------------------------------------------------------------------


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="http://127.0.0.1:8000", help="API base URL (loopback)")
    p.add_argument("--titles", required=True, help="file of article titles, one a line")
    p.add_argument("--queries", type=int, default=1500, help="targets per endpoint")
    p.add_argument("--seed", type=int, default=7, help="query generator seed")
    add_load_args(p)
    p.add_argument("--mobiles", default="13911111111", help="comma-separated users to log in")
    p.add_argument("--only", help="comma-separated keys: " + ",".join(k for k, _ in ORDER))
    p.add_argument("--api-pid", type=int, help="gunicorn master pid (CPU accounting)")
    p.add_argument("--redis-port", type=int, default=6379)
    p.add_argument("--redis-url", help="Redis server to count commands on (redis://h:p)")
    p.add_argument("--mysql-url", help="MariaDB to count statements on (mysql://u:pw@h:p)")
    p.add_argument("--meta", action="append", default=[], help="KEY=VALUE recorded in the JSON")
    p.add_argument("--out", default=str(HERE / "results" / "search.json"))
    args = p.parse_args(argv)
    args.rpc_pid = None
    args.titles = Path(args.titles).read_text().splitlines()
    args.mobiles = [m for m in args.mobiles.split(",") if m]
    check_load_args(p, args)
    return args


async def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    base = args.base.rstrip("/")
    queries = build_queries(args.titles, args.queries, args.seed)
    meter = CpuMeter(
        args.api_pid, None, args.redis_port, ServerCounters(args.redis_url, args.mysql_url)
    )
    tools = ["wrk", "python"] if args.tool == "both" else [args.tool]
    wanted = [k for k, _ in ORDER if not args.only or k == "floor" or k in args.only.split(",")]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30.0)) as session:
        client = Api(session, base)
        health = await client.get("/healthz")
        tokens, login_failure = await login(client, args.mobiles)
        eps = endpoints(queries, tokens, args.seed)
        if login_failure and not tokens:
            eps["search_user"].skipped = login_failure
        passes: dict[str, Any] = {}
        for key in wanted:
            if key != "floor" and not eps[key].skipped:
                emit(f"first pass: {eps[key].label} ({len(eps[key].targets)} targets)", err=True)
                passes[key] = await first_pass(client, eps[key], 4)
    skipped = {k: eps[k].skipped for k in wanted if eps[k].skipped}
    emit(
        f"first pass: {json.dumps(passes, ensure_ascii=False)}\n"
        f"driving {base} with {'+'.join(tools)}: {args.connections} connections, "
        f"{args.warmup:g}s warm-up + {args.duration:g}s per endpoint",
        err=True,
    )
    per_round: dict[str, list[list[Result]]] = {tool: [] for tool in tools}
    background: list[float] = []
    with tempfile.TemporaryDirectory(prefix="toutiao-bench-search-") as tmp:
        for number in range(1, args.rounds + 1):
            background.append(await wait_quiet(args.wait_quiet, args.quiet_below))
            for tool in tools:
                rows = []
                for key in wanted:
                    ep = eps[key]
                    if ep.skipped:
                        continue
                    emit(f"  round {number}/{args.rounds} {tool}: {ep.label}", err=True)
                    if tool == "wrk":
                        rows.append(run_wrk(base, ep, args, meter, Path(tmp)))
                    else:
                        rows.append(await run_python(base, ep, args, meter))
                per_round[tool].append(with_ratios(rows))
    results = {tool: combine(rounds) for tool, rounds in per_round.items()}
    for tool, rows in results.items():
        emit(
            f"\n== {tool}: {args.connections} connections, {args.duration:g}s per endpoint"
            f"{f', median of {args.rounds} rounds' if args.rounds > 1 else ''} =="
        )
        emit(table(rows, {}))
        for key, why in skipped.items():
            emit(f"{dict(ORDER)[key]:<34} not measured: {why}")
    meta = dict(item.split("=", 1) for item in args.meta if "=" in item)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": base,
        "settings": {
            "connections": args.connections,
            "wrk_threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "queries_per_endpoint": args.queries,
            "background_cpu_pct_before_each_round": [round(b, 1) for b in background],
            "tools": tools,
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "git": git_head(),
        "meta": meta,
        "healthz": health.json() if health.status_code < 500 else excerpt(health),
        "users_logged_in": len(tokens),
        "query_samples": {k: v[:20] for k, v in queries.items()},
        "first_pass": passes,
        "skipped": skipped,
        "results": {tool: [asdict(r) for r in rows] for tool, rows in results.items()},
    }
    out = write_report(Path(args.out), report)
    emit(f"\nwritten: {out}")
    return 1 if any(r.errors for rows in results.values() for r in rows) else 0


if __name__ == "__main__":
    run_cli(main)
