"""Self-media (/mp) bench: publish-to-visible latency and the /mp article list's throughput.

Run by bench/mp.sh; usable on its own against a stack you started (auto-approval on, an index
worker running):

    python bench/mp.py --base http://127.0.0.1:8000

1. **Publish to visible.** The demo author (13911111111) logs in through ``/mp`` and, one
   after another, submits ``--publishes`` articles (``POST /mp/v1_0/articles?draft=false``),
   each titled with a word of its own. From the moment the submit is sent, the driver polls
   ``GET /app/v1_0/search?q=<word>`` and ``GET /app/v1_0/users/<author>/articles`` every
   ``--poll-ms`` until the article is in both: that time is its publish-to-visible latency
   (the submit's own answer time is reported too). Search depends on the index worker
   draining the queue and the index reader reloading, the list on the after-commit work.
2. **Article list throughput.** ``GET /mp/v1_0/articles?page=1&per_page=10`` (and the
   comment screen's ``response_type=comment``) with the author's token, against the floor
   ``GET /app/`` in the same run, with load.py's driver, CPU meter and ratio arithmetic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from load import (
    DEMO_CODE,
    LOOPBACK,
    Api,
    CpuMeter,
    Endpoint,
    Result,
    ServerCounters,
    emit,
    excerpt,
    git_head,
    run_cli,
    run_python,
    table,
    with_ratios,
    write_report,
)

HERE = Path(__file__).resolve().parent


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="http://127.0.0.1:8000")
    p.add_argument("--mobile", default="13911111111")
    p.add_argument("--publishes", type=int, default=60, help="articles to publish and time")
    p.add_argument("--poll-ms", type=float, default=10.0)
    p.add_argument("--give-up-s", type=float, default=30.0, help="per article")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--duration", type=int, default=10, help="measured seconds per endpoint")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--api-pid", type=int)
    p.add_argument("--redis-port", type=int, default=6379)
    p.add_argument("--redis-url")
    p.add_argument("--mysql-url")
    p.add_argument("--meta", action="append", default=[])
    p.add_argument("--out", default=str(HERE / "results" / "mp.json"))
    args = p.parse_args()
    if urlsplit(args.base).hostname not in LOOPBACK:
        p.error("--base must be a loopback address")
    if not (1 <= args.publishes <= 1000 and 1 <= args.duration <= 300):
        p.error("bounds: 1 <= --publishes <= 1000, 1 <= --duration <= 300")
    return args


async def login(client: Api, mobile: str) -> tuple[dict[str, str], int, int]:
    """(auth header, author id, a channel id)."""
    reply = await client.post("/mp/v1_0/authorizations", json={"mobile": mobile, "code": DEMO_CODE})
    if reply.status_code != 201:
        raise RuntimeError(f"mp login failed: {excerpt(reply)}")
    headers = {"Authorization": f"Bearer {reply.json()['data']['token']}"}
    profile = await client.get("/mp/v1_0/user/profile", headers=headers)
    channels = await client.get("/mp/v1_0/channels")
    return headers, profile.json()["data"]["id"], channels.json()["data"]["channels"][0]["id"]


async def visible(client: Api, word: str, author: int, article_id: int) -> tuple[bool, bool]:
    found, listed = await asyncio.gather(
        client.get("/app/v1_0/search", params={"q": word, "per_page": 10}),
        client.get(f"/app/v1_0/users/{author}/articles", params={"page": 1, "per_page": 10}),
    )
    in_search = article_id in [r["art_id"] for r in found.json()["data"]["results"]]
    in_list = article_id in [r["art_id"] for r in listed.json()["data"]["results"]]
    return in_search, in_list


async def publish_once(
    client: Api, args: argparse.Namespace, headers: dict[str, str], author: int, channel: int
) -> dict[str, float]:
    word = "mpbench" + uuid.uuid4().hex[:10]
    body = {
        "title": f"性能测试 {word} 发布",
        "content": f"<p>发布到可见的延迟测试 {word}。</p>",
        "cover": {"type": 0, "images": []},
        "channel_id": channel,
    }
    started = time.perf_counter()
    reply = await client.post("/mp/v1_0/articles?draft=false", json=body, headers=headers)
    answered = time.perf_counter()
    if reply.status_code != 201:
        raise RuntimeError(f"submit failed: {excerpt(reply)}")
    article_id = reply.json()["data"]["id"]
    seen: dict[str, float] = {}
    while time.perf_counter() - started < args.give_up_s:
        in_search, in_list = await visible(client, word, author, article_id)
        now = time.perf_counter()
        if in_search:
            seen.setdefault("search", now)
        if in_list:
            seen.setdefault("list", now)
        if len(seen) == 2:
            break
        await asyncio.sleep(args.poll_ms / 1000)
    else:
        raise RuntimeError(f"article {article_id} not visible after {args.give_up_s} s: {seen}")
    return {
        "submit_ms": 1000 * (answered - started),
        "search_ms": 1000 * (seen["search"] - started),
        "list_ms": 1000 * (seen["list"] - started),
        "visible_ms": 1000 * (max(seen.values()) - started),
    }


def summary(samples: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(int(q * len(ordered)), len(ordered) - 1)], 1)

    result = {}
    for name in ("submit_ms", "list_ms", "search_ms", "visible_ms"):
        values = [s[name] for s in samples]
        result[name] = {
            "p50": pct(values, 0.5),
            "p99": pct(values, 0.99),
            "max": round(max(values), 1),
            "mean": round(statistics.fmean(values), 1),
        }
    return result


async def main() -> int:
    args = parse_args()
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        client = Api(session, args.base)
        headers, author, channel = await login(client, args.mobile)
        emit(f"author {author}, channel {channel}: publishing {args.publishes} articles")
        samples = [
            await publish_once(client, args, headers, author, channel)
            for _ in range(args.publishes)
        ]
    latency = summary(samples)
    emit("publish to visible (ms)          p50      p99      max     mean")
    for name, figures in latency.items():
        emit(
            f"  {name:<28} {figures['p50']:>8} {figures['p99']:>8} "
            f"{figures['max']:>8} {figures['mean']:>8}"
        )

    list_path = "/mp/v1_0/articles?page=1&per_page=10"
    endpoints = [
        Endpoint("floor", "floor GET /app/ (route map)", [("/app/", {})]),
        Endpoint("mp_list", "mp articles, default shape", [(list_path, headers)]),
        Endpoint(
            "mp_list_comment",
            "mp articles, comment shape",
            [(list_path + "&response_type=comment", headers)],
        ),
    ]
    meter = CpuMeter(
        args.api_pid, None, args.redis_port, ServerCounters(args.redis_url, args.mysql_url)
    )
    results: list[Result] = []
    for ep in endpoints:
        results.append(await run_python(args.base, ep, args, meter))
    with_ratios(results)
    emit(table(results, {}))
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "git": git_head(),
        "meta": dict(item.split("=", 1) for item in args.meta),
        "publish_to_visible": {"articles": len(samples), "ms": latency},
        "results": [r.__dict__ for r in results],
    }
    emit(f"written: {write_report(Path(args.out), report)}")
    return 0


if __name__ == "__main__":
    run_cli(main)
