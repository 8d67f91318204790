"""What the machine's CPUs ran while answers were slow (``BENCH_PERF=1 bench/run.sh``).

``run.sh`` records every CPU with ``perf record -a`` (a sample every 2 ms, wall-clock
timestamps) while ``load.py`` drives the API. This script takes the paced phases' requests
from the API's access log (each line has its server-side ``duration_ms`` and when it ended),
groups the slow ones (over ``--slow-ms``) that overlap into episodes, and says per episode
what shared the CPUs with the API's workers then:

- ``background (ours)``: ``toutiao rpc`` / ``worker`` / ``scheduler`` (queue refills, the
  event fold, index upkeep) held at least 15 % of the CPU samples;
- ``database``: MariaDB did;
- ``other process``: something outside the stack did (named in the shares);
- ``vm pause``: every CPU went 20 ms or more without a sample (the host held the VM);
- ``cpu idle``: a quarter of the samples were idle: the API waited for something off-CPU;
- ``api and redis busy``: none of these: the API's workers and Redis had the CPUs.

    python bench/episodes.py --perf OUT/perf.data --access-log OUT/logs/api.log \\
        --results OUT/latest.json [--out OUT/episodes.json]
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

SAMPLE_HZ = 499  # what run.sh asks perf for
SHARE = 0.15  # a neighbour holding this share of an episode's samples is its cause
PAUSE_MS = 20.0
IDLE_SHARE = 0.25
_LINE = re.compile(r"^\s*(?P<comm>.*?)\s+(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+(?P<t>[\d.]+):\s*$")


@dataclass(frozen=True)
class Request:
    start: float
    end: float
    ms: float
    route: str


@dataclass
class Episode:
    start: float
    end: float
    requests: int = 0
    max_ms: float = 0.0
    routes: Counter[str] = field(default_factory=Counter)
    shares: dict[str, float] = field(default_factory=dict)
    pause_ms: float = 0.0
    cause: str = ""


def kind(comm: str) -> str:
    """Who a sampled thread belongs to, by its command name."""
    if comm.startswith("gunicorn"):
        return "api"
    if comm.startswith("redis-server"):
        return "redis"
    if comm.startswith("toutiao"):
        return "background"
    if comm.startswith("mariadbd"):
        return "database"
    if comm in ("python", "wrk"):
        return "load"
    if comm == "swapper":
        return "idle"
    if comm == "perf":
        return "perf"
    return "other:" + comm


def parse_samples(text: str) -> dict[int, list[tuple[float, str]]]:
    """``perf script -F comm,pid,cpu,time`` output: per CPU, (time, kind) in time order."""
    by_cpu: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            by_cpu[int(m["cpu"])].append((float(m["t"]), kind(m["comm"])))
    for samples in by_cpu.values():
        samples.sort()
    return dict(by_cpu)


def read_samples(perf_data: Path) -> dict[int, list[tuple[float, str]]]:
    out = subprocess.run(
        ["perf", "script", "-i", str(perf_data), "-F", "comm,pid,cpu,time"],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_samples(out.stdout)


def paced_windows(results: dict) -> list[tuple[float, float, str]]:
    """The measured seconds of every paced phase in a ``load.py`` result."""
    found = []
    for row in results["results"]["wrk"]:
        paced = row.get("paced") or {}
        seconds = paced.get("seconds")
        starts = [r.get("paced_measured_from_unix") for r in row.get("rounds") or []]
        starts = [s for s in starts if s] or [paced.get("measured_from_unix")]
        for start in starts:
            if start and seconds:
                found.append((start, start + seconds, row["key"]))
    return found


def read_requests(lines: list[str], windows: list[tuple[float, float, str]]) -> list[Request]:
    found = []
    for line in lines:
        if '"toutiao.access"' not in line:
            continue
        entry = json.loads(line)
        end = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
        if any(a <= end <= b for a, b, _ in windows):
            ms = float(entry["duration_ms"])
            found.append(Request(end - ms / 1000, end, ms, entry.get("route") or entry["path"]))
    return found


def group(requests: list[Request], slow_ms: float, join_s: float = 0.05) -> list[Episode]:
    """Slow requests that overlap (or nearly) form one episode."""
    episodes: list[Episode] = []
    for r in sorted((r for r in requests if r.ms > slow_ms), key=lambda r: r.start):
        if not episodes or r.start > episodes[-1].end + join_s:
            episodes.append(Episode(r.start, r.end))
        ep = episodes[-1]
        ep.end = max(ep.end, r.end)
        ep.requests += 1
        ep.max_ms = max(ep.max_ms, r.ms)
        ep.routes[r.route] += 1
    return episodes


def explain(ep: Episode, samples: dict[int, list[tuple[float, str]]], hz: float) -> None:
    """The shares of the CPUs' samples over the episode (from a little before it), how long
    every CPU went without a sample at least once (a VM held by its host), and the cause
    these point to."""
    period = 1 / hz
    t0, t1 = ep.start - 0.02, ep.end
    counts: Counter[str] = Counter()
    pauses = []
    for series in samples.values():
        times = [t for t, _ in series]
        i, j = bisect.bisect_left(times, t0), bisect.bisect_right(times, t1)
        counts.update(k for _, k in series[i:j])
        window = [t0, *times[i:j], t1]
        pauses.append(max(b - a for a, b in zip(window, window[1:], strict=False)) - period)
    total = sum(counts.values()) or 1
    ep.shares = {k: round(v / total, 3) for k, v in counts.most_common()}
    ep.pause_ms = round(max(min(pauses), 0) * 1000, 1) if pauses else 0.0
    neighbours = {
        k: v for k, v in ep.shares.items() if k not in ("api", "redis", "idle", "load", "perf")
    }
    top, top_share = max(neighbours.items(), key=lambda kv: kv[1], default=("", 0.0))
    if ep.pause_ms >= PAUSE_MS:
        ep.cause = "vm pause"
    elif top_share >= SHARE:
        ep.cause = {"background": "background (ours)", "database": "database"}.get(
            top, "other process"
        )
    elif ep.shares.get("idle", 0) >= IDLE_SHARE:
        ep.cause = "cpu idle"
    else:
        ep.cause = "api and redis busy"


def report(episodes: list[Episode], requests: list[Request], slow_ms: float) -> dict:
    slow = sum(ep.requests for ep in episodes)
    by_cause: Counter[str] = Counter()
    for ep in episodes:
        by_cause[ep.cause] += ep.requests
    return {
        "requests": len(requests),
        "slow_ms": slow_ms,
        "slow": slow,
        "slow_by_cause": dict(by_cause.most_common()),
        "episodes": [
            {
                "at": datetime.fromtimestamp(ep.start).astimezone().isoformat(),
                "ms": round((ep.end - ep.start) * 1000),
                "requests": ep.requests,
                "max_ms": ep.max_ms,
                "routes": dict(ep.routes.most_common(3)),
                "cause": ep.cause,
                "pause_ms": ep.pause_ms,
                "shares": ep.shares,
            }
            for ep in episodes
        ],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--perf", type=Path, required=True, help="perf.data of the run")
    p.add_argument("--access-log", type=Path, required=True, help="the API's log")
    p.add_argument("--results", type=Path, required=True, help="load.py's JSON")
    p.add_argument("--slow-ms", type=float, default=30.0)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    samples = read_samples(args.perf)
    if not samples:
        print("no CPU samples in", args.perf)
        return 1
    recorded = (max(s[0][0] for s in samples.values()), min(s[-1][0] for s in samples.values()))
    windows = [  # the paced seconds perf recorded
        (max(a, recorded[0]), min(b, recorded[1]), key)
        for a, b, key in paced_windows(json.loads(args.results.read_text()))
        if b > recorded[0] and a < recorded[1]
    ]
    requests = read_requests(args.access_log.read_text().splitlines(), windows)
    episodes = group(requests, args.slow_ms)
    for ep in episodes:
        explain(ep, samples, SAMPLE_HZ)
    found = report(episodes, requests, args.slow_ms)
    if args.out:
        args.out.write_text(json.dumps(found, indent=2) + "\n")
    print(
        f"paced phases: {found['requests']} requests, {found['slow']} over {args.slow_ms:g} ms "
        f"in {len(episodes)} episodes; slow requests by what shared the CPUs: "
        + (", ".join(f"{k} {v}" for k, v in found["slow_by_cause"].items()) or "none")
    )
    for ep in found["episodes"]:
        if ep["requests"] >= 5:
            shares = " ".join(f"{k}={v:.2f}" for k, v in list(ep["shares"].items())[:5])
            print(
                f"  {ep['at'][11:23]} {ep['ms']:5d} ms {ep['requests']:4d} slow"
                f" (max {ep['max_ms']:.0f} ms) {ep['cause']:<20} {shares}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
