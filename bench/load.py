"""Load generator for the toutiao benchmark (run by bench/run.sh; usable on its own).

A separate process from the server. It discovers real request targets through the API
(logs a few demo users in, reads channels, crawls the v1.1 feed for article ids and click
traces, probes which of them have comments), warms the caches (one detail request per
article given with ``--warm-ids``, then every target twice), then drives each endpoint for a
fixed time with a fixed number of connections and reports requests/s, p50/p99 latency,
errors, the ratio to the floor (``GET /app/``, measured in the same round with the same
tool), and the CPU each part of the stack spent per request. After each round's throughput,
a paced phase (``--paced``, on by default) drives each endpoint again at a fixed rate below
what it reached and reports its latency from each request's scheduled send time.

Drivers:
- ``wrk`` (default when installed): C, event-driven, rotating over the targets with
  ``bench/wrk/rotate.lua``. It uses far less CPU per request than any Python client, which
  matters on a 2-core machine where the load generator competes with the server.
- ``python``: asyncio + aiohttp, the same targets and connection count. A cross-check for
  latency and a fallback when wrk is missing; it needs several times wrk's CPU per request.
- the paced phase's own: asyncio (uvloop) protocols on raw HTTP/1.1 keep-alive
  connections, its schedule from a Linux timerfd; open loop, so it needs no wrk2.

Only loopback targets are accepted; every run stops by itself.

    python bench/load.py --base http://127.0.0.1:8000 [--tool wrk|python|both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import itertools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit
from urllib.request import urlopen

import aiohttp
import httptools

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk" / "rotate.lua"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEMO_CODE = "246810"
CLK_TCK = os.sysconf("SC_CLK_TCK")

Target = tuple[str, dict[str, str]]


# -- endpoints -------------------------------------------------------------------------------


@dataclass
class Endpoint:
    key: str
    label: str
    targets: list[Target] = field(default_factory=list)
    skipped: str | None = None  # why it was not measured


ORDER = [
    ("floor", "floor GET /app/ (route map)"),
    ("channels", "channels GET /v1_0/channels"),
    ("feed_anon", "feed v1.1, anonymous (Anony id)"),
    ("feed_user", "feed v1.1, logged in"),
    ("feed_replay", "feed v1.1, scrolling back (replay)"),
    ("detail", "article detail, anonymous"),
    ("detail_user", "article detail, logged in"),
    ("comments", "comments ?type=a"),
]
# "warm feed and article detail"
# Each endpoint's aim, as a ratio to the floor: fresh feed batches 0.5, scrolling back and
# the article detail 0.6, comments 0.5. ``--target`` puts one figure on all of them.
TARGETS = {
    "feed_anon": 0.5,
    "feed_user": 0.5,
    "feed_replay": 0.6,
    "detail": 0.6,
    "detail_user": 0.6,
    "comments": 0.5,
}


def feed_path(channel_id: int) -> str:
    return f"/app/v1_1/articles?channel_id={channel_id}&timestamp={{NOW}}&with_top=1"


def emit(*parts: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(" ".join(parts) + "\n")
    stream.flush()


def now_ms() -> int:
    return int(time.time() * 1000)


def expand(path: str) -> str:
    return path.replace("{NOW}", str(now_ms()))


@dataclass
class Reply:
    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def excerpt(response: Reply) -> str:
    return f"HTTP {response.status_code}: {response.text[:300]}"


class Api:
    """The few calls discovery and warm-up make (aiohttp, relative paths)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        async with self.session.request(method, self.base + path, **kwargs) as response:
            return Reply(response.status, await response.text())

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("POST", path, **kwargs)


class Discovery:
    """Finds real targets through the API itself, the way a client would."""

    def __init__(self, client: Api, args: argparse.Namespace) -> None:
        self.client = client
        self.args = args
        self.notes: dict[str, Any] = {}

    async def run(self) -> dict[str, Endpoint]:
        args = self.args
        eps = {key: Endpoint(key, label) for key, label in ORDER}
        eps["floor"].targets = [("/app/", {})]
        eps["channels"].targets = [("/app/v1_0/channels", {})]

        channels = await self.channels()
        tokens = await self.login(args.mobiles)
        anon_ids = [f"bench-anon-{i:02d}" for i in range(args.anon_ids)]
        feed_channels = [0, *channels]
        eps["feed_anon"].targets = [
            (feed_path(cid), {"Authorization": f"Anony {anon}"})
            for anon in anon_ids
            for cid in feed_channels
        ]
        # Scrolling back: each device x channel asks for the page recorded at one fixed
        # timestamp (its first request records it, every later one replays it).
        replay_at = now_ms()
        eps["feed_replay"].targets = [
            (
                f"/app/v1_1/articles?channel_id={cid}&timestamp={replay_at}&with_top=0",
                {"Authorization": f"Anony bench-replay-{i:02d}"},
            )
            for i in range(args.anon_ids)
            for cid in feed_channels
        ]
        if tokens:
            eps["feed_user"].targets = [
                (feed_path(cid), {"Authorization": f"Bearer {token}"})
                for token in tokens
                for cid in feed_channels
            ]
        else:
            eps["feed_user"].skipped = f"no user could log in: {self.notes.get('login')}"

        articles, why = await self.crawl_feed(anon_ids, feed_channels, args.articles)
        if why:
            eps["feed_anon"].skipped = eps["feed_user"].skipped = why
            eps["feed_replay"].skipped = why
        if not articles and args.fallback_ids:
            ids = args.fallback_ids[: args.articles]
            articles = [(aid, None) for aid in ids]
            self.notes["article_ids_from"] = "SQL (feed unavailable)"
        elif articles:
            self.notes["article_ids_from"] = "the v1.1 feed"
        self.notes["article_ids"] = len(articles)
        if not articles:
            eps["detail"].skipped = eps["detail_user"].skipped = eps["comments"].skipped = (
                "no article ids"
            )
            return eps

        def detail_target(aid: int, click: str | None, token: str | None) -> Target:
            headers = {"Trace": click} if click else {}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            return (f"/app/v1_0/articles/{aid}", headers)

        eps["detail"].targets = [detail_target(aid, click, None) for aid, click in articles]
        if tokens:
            eps["detail_user"].targets = [
                detail_target(aid, click, tokens[i % len(tokens)])
                for i, (aid, click) in enumerate(articles)
            ]
        else:
            eps["detail_user"].skipped = eps["feed_user"].skipped

        with_comments, why = await self.articles_with_comments([aid for aid, _ in articles])
        if why:
            eps["comments"].skipped = why
        else:
            eps["comments"].targets = [
                (f"/app/v1_0/comments?type=a&source={aid}", {}) for aid in with_comments
            ]
            if not with_comments:
                eps["comments"].skipped = "none of the articles has comments"
        return eps

    async def channels(self) -> list[int]:
        response = await self.client.get("/app/v1_0/channels")
        if response.status_code != 200:
            self.notes["channels"] = excerpt(response)
            return []
        ids = [c["id"] for c in response.json()["data"]["channels"]]
        self.notes["channels"] = len(ids)
        return ids

    async def login(self, mobiles: list[str]) -> list[str]:
        tokens = []
        for mobile in mobiles:
            response = await self.client.post(
                "/app/v1_0/authorizations", json={"mobile": mobile, "code": DEMO_CODE}
            )
            if response.status_code == 201:
                tokens.append(response.json()["data"]["token"])
            else:
                self.notes["login"] = f"{mobile}: {excerpt(response)}"
        self.notes["users_logged_in"] = len(tokens)
        return tokens

    async def crawl_feed(
        self, anon_ids: list[str], channels: list[int], wanted: int
    ) -> tuple[list[tuple[int, str | None]], str | None]:
        """Distinct (article id, click trace) pairs seen in anonymous feeds."""
        found: dict[int, str | None] = {}
        calls = last_new = 0
        for anon, cid in itertools.product(anon_ids, channels):
            if len(found) >= wanted or calls >= 4 * wanted or calls - last_new > 2 * len(channels):
                break
            response = await self.client.get(
                expand(feed_path(cid)), headers={"Authorization": f"Anony {anon}"}
            )
            calls += 1
            if response.status_code != 200:
                return [], f"feed: {excerpt(response)}"
            for item in response.json()["data"]["results"]:
                if item.get("is_top"):
                    continue
                trace = item.get("trace") or {}
                if int(item["art_id"]) not in found:
                    found[int(item["art_id"])] = trace.get("click")
                    last_new = calls
        self.notes["feed_calls_to_collect_ids"] = calls
        return list(found.items())[:wanted], None

    async def articles_with_comments(self, ids: list[int]) -> tuple[list[int], str | None]:
        semaphore = asyncio.Semaphore(8)
        counts: dict[int, int] = {}
        failure: list[str] = []

        async def probe(aid: int) -> None:
            async with semaphore:
                response = await self.client.get(f"/app/v1_0/comments?type=a&source={aid}")
            if response.status_code == 200:
                counts[aid] = response.json()["data"]["total_count"]
            elif not failure:
                failure.append(f"comments: {excerpt(response)}")

        await asyncio.gather(*(probe(aid) for aid in ids))
        if failure and not counts:
            return [], failure[0]
        with_comments = [aid for aid in ids if counts.get(aid, 0) > 0]
        if counts:
            self.notes["comments_per_article_mean"] = round(
                sum(counts[a] for a in with_comments) / max(len(with_comments), 1), 1
            )
        self.notes["articles_with_comments"] = len(with_comments)
        return with_comments, None


async def warm_articles(client: Api, ids: list[int], concurrency: int) -> dict[str, Any]:
    """One anonymous detail request per article: fills every article's card and body in
    Redis, so a feed batch of any articles the recommender picks finds their cards there
    (what a warm production cache holds). Each one also counts as a read."""
    if not ids:
        return {}
    emit(f"warming the cache of {len(ids)} articles (one detail request each)", err=True)
    started = time.perf_counter()
    statuses: Counter[int] = Counter()
    pending = iter(ids)

    async def worker() -> None:
        for aid in pending:
            statuses[(await client.get(f"/app/v1_0/articles/{aid}")).status_code] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    failed = {s: n for s, n in statuses.items() if s != 200}
    if failed:
        emit(f"  warning: non-200 answers while warming articles: {failed}", err=True)
    return {
        "requests": len(ids),
        "seconds": round(time.perf_counter() - started, 1),
        "statuses": dict(statuses),
    }


async def probe_and_warm(client: Api, ep: Endpoint) -> dict[str, Any]:
    """Send every target twice (fills Redis and both workers' in-process caches); a failing
    first request marks the endpoint skipped with the status and body."""
    first = ep.targets[0]
    response = await client.get(expand(first[0]), headers=first[1])
    if not 200 <= response.status_code < 300:
        ep.skipped = f"{first[0]}: {excerpt(response)}"
        return {}
    semaphore = asyncio.Semaphore(8)
    statuses: Counter[int] = Counter()

    async def one(target: Target) -> None:
        async with semaphore:
            r = await client.get(expand(target[0]), headers=target[1])
        statuses[r.status_code] += 1

    rounds = 2 if len(ep.targets) <= 2000 else 1  # twice: both workers see most of them
    for _ in range(rounds):
        await asyncio.gather(*(one(t) for t in ep.targets))
    failed = {s: n for s, n in statuses.items() if not 200 <= s < 300}
    if failed:
        emit(f"  warning: {ep.label}: non-2xx answers while warming: {failed}", err=True)
    return {"warm_requests": sum(statuses.values()), "warm_statuses": dict(statuses)}


# -- CPU accounting (/proc) -------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, int, str] | None:
    """(ppid, utime+stime ticks, comm) or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), comm


Procs = dict[int, tuple[int, int, str]]  # pid -> _proc_stat


def _procs() -> Procs:
    """Every process's ``_proc_stat``."""
    found: Procs = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))):
            found[int(entry.name)] = stat
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class ServerCounters:
    """Server-wide totals: Redis commands processed and MariaDB statements (``Questions``).
    Approximate per-request costs: anything else using the same servers is counted too."""

    def __init__(self, redis_url: str | None, mysql: str | None, base: str | None = None) -> None:
        self.metrics_url = f"{base}/metrics" if base else None
        self.redis: Any = None
        if redis_url:
            try:
                import redis

                self.redis = redis.Redis.from_url(redis_url)
                self.redis.ping()
            except Exception:  # noqa: BLE001 - optional figure
                self.redis = None
        self.latency_restore: int | None = None  # the monitor's threshold before the run
        self.mysql = urlsplit(mysql) if mysql else None
        self.mysql_cli = shutil.which("mariadb") or shutil.which("mysql")

    def redis_commands(self) -> int | None:
        if self.redis is None:
            return None
        return int(self.redis.info("stats")["total_commands_processed"])

    def watch_redis_latency(self, threshold_ms: int) -> None:
        """Turn the Redis server's latency monitor on (events of ``threshold_ms`` or longer)
        unless it is on already; :meth:`unwatch_redis_latency` puts the old value back."""
        if self.redis is None:
            return
        try:
            found = self.redis.config_get("latency-monitor-threshold")
            before = int(found.get("latency-monitor-threshold", 0))
            if before == 0:
                self.redis.config_set("latency-monitor-threshold", threshold_ms)
                self.latency_restore = before
        except Exception:  # noqa: BLE001 - optional figure (CONFIG may be renamed or refused)
            return

    def unwatch_redis_latency(self) -> None:
        if self.redis is not None and self.latency_restore is not None:
            with contextlib.suppress(Exception):
                self.redis.config_set("latency-monitor-threshold", self.latency_restore)
            self.latency_restore = None

    def redis_stalls(self, since: float, until: float) -> list[dict[str, Any]] | None:
        """The Redis server's latency events from ``since`` to ``until`` (Unix seconds): one
        per event kind and second, the longest, e.g. a command that took 12 ms of wall time
        (every client waits meanwhile). None when the monitor is off or unreadable."""
        if self.redis is None:
            return None
        try:
            found = self.redis.config_get("latency-monitor-threshold")
            if not int(found.get("latency-monitor-threshold", 0)):
                return None
            kinds = [row[0] for row in self.redis.execute_command("LATENCY", "LATEST")]
            events = []
            for kind in kinds:
                name = kind.decode() if isinstance(kind, bytes) else str(kind)
                for at, ms in self.redis.execute_command("LATENCY", "HISTORY", name):
                    if since - 1 < int(at) < until:
                        events.append({"at_s": int(at) - int(since), "event": name, "ms": int(ms)})
        except Exception:  # noqa: BLE001 - optional figure
            return None
        return sorted(events, key=lambda e: (e["at_s"], e["event"]))

    def metrics(self) -> str | None:
        """The API's ``/metrics`` (every worker's, when gunicorn runs with
        PROMETHEUS_MULTIPROC_DIR as ``_stack.sh`` sets it)."""
        if self.metrics_url is None:
            return None
        try:
            with urlopen(self.metrics_url, timeout=5) as answer:
                return str(answer.read().decode())
        except OSError:
            return None

    @staticmethod
    def feed_batches(text: str | None) -> dict[str, float] | None:
        """``toutiao_feed_batches_total`` by source."""
        if text is None:
            return None
        found: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith('toutiao_feed_batches_total{source="'):
                source = line.split('"')[1]
                found[source] = found.get(source, 0.0) + float(line.rsplit(" ", 1)[1])
        return found

    @staticmethod
    def gc_pauses(text: str | None) -> dict[str, float] | None:
        """The API workers' garbage-collector pauses so far, every generation: how many,
        how many longer than 25 ms, and their seconds (``toutiao_gc_pause_seconds``)."""
        if text is None:
            return None
        found = {"count": 0.0, "short": 0.0, "seconds": 0.0}
        for line in text.splitlines():
            value = line.rsplit(" ", 1)[-1]
            if line.startswith("toutiao_gc_pause_seconds_count{"):
                found["count"] += float(value)
            elif line.startswith("toutiao_gc_pause_seconds_sum{"):
                found["seconds"] += float(value)
            elif line.startswith("toutiao_gc_pause_seconds_bucket{") and 'le="0.025"' in line:
                found["short"] += float(value)
        return found

    @staticmethod
    def loop_lags(text: str | None) -> dict[str, dict[str, float]] | None:
        """The services' event-loop lags so far, by process (``toutiao_event_loop_lag_seconds``
        summed over its processes): how many wake-ups were timed, and how many came 20 ms,
        50 ms or 100 ms or more late."""
        if text is None:
            return None
        found: dict[str, dict[str, float]] = {}
        edges = {'le="0.02"': "within_20ms", 'le="0.05"': "within_50ms", 'le="0.1"': "within_100ms"}
        for line in text.splitlines():
            if not line.startswith("toutiao_event_loop_lag_seconds_"):
                continue
            process = line.split('process="', 1)[1].split('"', 1)[0] if 'process="' in line else ""
            row = found.setdefault(process, dict.fromkeys(["count", *edges.values()], 0.0))
            value = float(line.rsplit(" ", 1)[-1])
            if line.startswith("toutiao_event_loop_lag_seconds_count{"):
                row["count"] += value
            elif line.startswith("toutiao_event_loop_lag_seconds_bucket{"):
                for edge, name in edges.items():
                    if edge in line:
                        row[name] += value
        return found

    def sql_statements(self) -> int | None:
        if self.mysql is None or self.mysql_cli is None:
            return None
        u = self.mysql
        cmd = [self.mysql_cli, "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306)]
        cmd += ["-u", u.username or "root", "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'Questions'"]
        env = dict(os.environ, MYSQL_PWD=u.password or "")
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        return int(done.stdout.split()[1]) if done.returncode == 0 else None


class CpuMeter:
    """CPU seconds of the processes in the benchmark, and of everything else on the box,
    plus the servers' command counters."""

    def __init__(
        self,
        api_pid: int | None,
        rpc_pid: int | None,
        redis_port: int,
        counters: ServerCounters | None = None,
    ) -> None:
        self.api_pid, self.rpc_pid, self.redis_port = api_pid, rpc_pid, redis_port
        self.counters = counters or ServerCounters(None, None)

    def workers(self, procs: Procs | None = None) -> list[int]:
        """The API's worker processes, by pid (ranked so in ``WORKER_PREFIX`` names)."""
        if self.api_pid is None:
            return []
        table = _procs() if procs is None else procs
        return sorted(p for p, (ppid, _, _) in table.items() if ppid == self.api_pid)

    def connections_by_worker(self, client_ports: list[int]) -> dict[str, int]:
        """How many of the loopback connections from ``client_ports`` each API worker holds
        (the server side's socket, found by its peer port in /proc/net/tcp*)."""
        wanted = set(client_ports)
        inodes: dict[str, int] = {}  # server-side socket inode -> client port
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError):
                for line in Path(table).read_text().splitlines()[1:]:
                    fields = line.split()
                    port = int(fields[2].rsplit(":", 1)[1], 16)  # the remote end's
                    if port in wanted and fields[3] == "01":  # ESTABLISHED
                        inodes[fields[9]] = port
        found: dict[str, int] = {}
        for rank, pid in enumerate(self.workers()):
            held = 0
            with contextlib.suppress(OSError):
                for fd in os.scandir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        link = os.readlink(fd.path)
                        if link.startswith("socket:[") and link[8:-1] in inodes:
                            held += 1
            found[f"{WORKER_PREFIX}{rank}"] = held
        return found

    def _groups(self) -> dict[str, float]:
        procs = _procs()

        def tree(root: int | None) -> set[int]:
            if root is None or root not in procs:
                return set()
            members, grew = {root}, True
            while grew:
                grew = False
                for pid, (ppid, _, _) in procs.items():
                    if ppid in members and pid not in members:
                        members.add(pid)
                        grew = True
            return members

        groups: dict[str, set[int]] = {"api": tree(self.api_pid), "rpc": tree(self.rpc_pid)}
        # Each API worker apart (WORKER_PREFIX + its rank by pid): wrk's keep-alive connections
        # stay on the worker that accepted them, and a row where most landed on one worker
        # leaves the other idle; ``uneven`` flags it.
        for rank, pid in enumerate(self.workers(procs)):
            groups[f"{WORKER_PREFIX}{rank}"] = {pid}
        groups["mariadb"] = {p for p, (_, _, c) in procs.items() if c in ("mariadbd", "mysqld")}
        groups["redis"] = {
            p
            for p, (_, _, c) in procs.items()
            if c == "redis-server" and f":{self.redis_port}" in _cmdline(p)
        }
        return {name: sum(procs[p][1] for p in pids) / CLK_TCK for name, pids in groups.items()}

    @staticmethod
    def machine() -> tuple[float, float]:
        """(busy, total) CPU seconds of the whole machine."""
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = values[3] + values[4]
        total = sum(values[:8])
        return (total - idle) / CLK_TCK, total / CLK_TCK

    def cpu_snapshot(self) -> dict[str, Any]:
        """The CPU figures of ``snapshot`` alone (no server counters, no /metrics)."""
        self_usage = resource.getrusage(resource.RUSAGE_SELF)
        child_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy, total = self.machine()
        return {
            "groups": self._groups(),
            "self": self_usage.ru_utime + self_usage.ru_stime,
            "children": child_usage.ru_utime + child_usage.ru_stime,
            "busy": busy,
            "total": total,
            "wall": time.perf_counter(),
        }

    def snapshot(self) -> dict[str, Any]:
        metrics = self.counters.metrics()
        return {
            **self.cpu_snapshot(),
            "redis_commands": self.counters.redis_commands(),
            "sql_statements": self.counters.sql_statements(),
            "feed_batches": self.counters.feed_batches(metrics),
            "gc_pauses": self.counters.gc_pauses(metrics),
            "loop_lags": self.counters.loop_lags(metrics),
        }

    @staticmethod
    def per_request(
        before: dict[str, Any], after: dict[str, Any], name: str, requests: int
    ) -> float | None:
        if before[name] is None or after[name] is None or not requests:
            return None
        return round((after[name] - before[name] - 1) / requests, 2)  # -1: our own reading

    @staticmethod
    def feed_sources(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
        """Feed batches served during the interval, by source (queue, recommender, ...)."""
        if before["feed_batches"] is None or after["feed_batches"] is None:
            return {}
        changed = {
            source: int(n - before["feed_batches"].get(source, 0.0))
            for source, n in after["feed_batches"].items()
        }
        return {source: n for source, n in changed.items() if n}

    @staticmethod
    def gc_pauses(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        """The API workers' collector pauses during the interval: ``long`` (over 25 ms) and
        ``ms`` (all of them, in all)."""
        if before["gc_pauses"] is None or after["gc_pauses"] is None:
            return {}
        b, a = before["gc_pauses"], after["gc_pauses"]
        return {
            "long": int((a["count"] - a["short"]) - (b["count"] - b["short"])),
            "ms": round(1000 * (a["seconds"] - b["seconds"]), 1),
        }

    @staticmethod
    def loop_lags(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, int]]:
        """Each service's event-loop wake-ups during the interval that came late: 20 ms or
        more, 50 ms or more, 100 ms or more (API workers summed)."""
        if before.get("loop_lags") is None or after.get("loop_lags") is None:
            return {}
        found = {}
        for process, a in after["loop_lags"].items():
            b = before["loop_lags"].get(process) or dict.fromkeys(a, 0.0)
            late = {
                f"over_{ms}ms": int(
                    (a["count"] - a[f"within_{ms}ms"]) - (b["count"] - b[f"within_{ms}ms"])
                )
                for ms in (20, 50, 100)
            }
            found[process] = late
        return found

    @staticmethod
    def usage(before: dict[str, Any], after: dict[str, Any], loadgen: str) -> dict[str, float]:
        """Percent of one core per group over the interval (200% = both cores of 2)."""
        wall = after["wall"] - before["wall"]
        pct = {
            name: 100 * (after["groups"][name] - before["groups"][name]) / wall
            for name in after["groups"]
        }
        pct["loadgen"] = 100 * (after[loadgen] - before[loadgen]) / wall
        pct["machine"] = 100 * (after["busy"] - before["busy"]) / wall
        known = sum(v for k, v in pct.items() if k != "machine" and not k.startswith(WORKER_PREFIX))
        pct["other"] = max(pct["machine"] - known, 0.0)
        return {k: round(v, 1) for k, v in pct.items()}


async def wait_quiet(limit: float, below: float) -> float:
    """Wait (at most ``limit`` s) until the machine, with no load from us, uses less than
    ``below`` percent of one core over 2 s; returns the last figure."""
    deadline = time.monotonic() + limit
    while True:
        busy0, _ = CpuMeter.machine()
        t0 = time.monotonic()
        await asyncio.sleep(2)
        busy1, _ = CpuMeter.machine()
        busy = 100 * (busy1 - busy0) / (time.monotonic() - t0)
        if busy < below or time.monotonic() >= deadline:
            return busy


# -- drivers ---------------------------------------------------------------------------------


@dataclass
class Result:
    key: str
    label: str
    tool: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    bytes_per_request: int
    cpu_pct: dict[str, float]
    redis_per_request: float | None = None
    sql_per_request: float | None = None
    error_detail: dict[str, int] = field(default_factory=dict)
    ratio_to_floor: float | None = None
    # CPU of the stack (API + recommender + MariaDB + Redis) per request, and the floor's
    # figure divided by it: the throughput ratio the endpoint would reach on a machine
    # whose CPU is shared by nothing else; robust against other load on the machine.
    stack_cpu_ms_per_request: float | None = None
    cpu_ratio_to_floor: float | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    feed_sources: dict[str, int] = field(default_factory=dict)  # feed batches by source
    gc_pauses: dict[str, float] = field(default_factory=dict)  # the API's collector pauses
    paced: dict[str, Any] = field(default_factory=dict)  # the open-loop latency phase


def write_targets(ep: Endpoint, folder: Path) -> Path:
    path = folder / f"{ep.key}.targets"
    lines = []
    for url, headers in ep.targets:
        if any("\t" in part or "\n" in part for part in (url, *headers.values())):
            raise ValueError(f"tab or newline in a target of {ep.key}")
        lines.append("\t".join([url, *(f"{k}: {v}" for k, v in headers.items())]))
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(
    base: str, ep: Endpoint, args: argparse.Namespace, meter: CpuMeter, folder: Path
) -> Result:
    targets = write_targets(ep, folder)
    out = folder / f"{ep.key}.wrk.json"

    def wrk(seconds: int) -> subprocess.CompletedProcess[str]:
        cmd = [
            args.wrk, "-t", str(args.threads), "-c", str(args.connections),
            "-d", f"{seconds}s", "--timeout", "5s", "-s", str(LUA), base,
        ]  # fmt: skip
        env = dict(os.environ, BENCH_TARGETS=str(targets), BENCH_WRK_OUT=str(out))
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        return done

    if args.warmup > 0:
        wrk(args.warmup)
    before = meter.snapshot()
    wrk(args.duration)
    after = meter.snapshot()
    data = json.loads(out.read_text())
    errors = data["errors"]
    requests = data["requests"]
    return Result(
        key=ep.key,
        label=ep.label,
        tool="wrk",
        rps=requests / (data["duration_us"] / 1e6),
        p50_ms=data["latency_us"]["p50"] / 1000,
        p99_ms=data["latency_us"]["p99"] / 1000,
        errors=sum(errors.values()),
        requests=requests,
        bytes_per_request=data["bytes"] // max(requests, 1),
        cpu_pct=CpuMeter.usage(before, after, "children"),
        redis_per_request=CpuMeter.per_request(before, after, "redis_commands", requests),
        sql_per_request=CpuMeter.per_request(before, after, "sql_statements", requests),
        error_detail={k: v for k, v in errors.items() if v},
        feed_sources=CpuMeter.feed_sources(before, after),
        gc_pauses=CpuMeter.gc_pauses(before, after),
    )


async def run_python(base: str, ep: Endpoint, args: argparse.Namespace, meter: CpuMeter) -> Result:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    transport_errors: Counter[str] = Counter()
    nbytes = 0
    counter = itertools.count()
    n = len(ep.targets)
    connector = aiohttp.TCPConnector(limit=args.connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=5.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        start = time.perf_counter()
        measure_from = start + args.warmup
        stop_at = measure_from + args.duration
        snapshots: dict[str, dict[str, Any]] = {}

        async def clock() -> None:
            await asyncio.sleep(max(measure_from - time.perf_counter(), 0))
            snapshots["before"] = meter.snapshot()
            await asyncio.sleep(max(stop_at - time.perf_counter(), 0))
            snapshots["after"] = meter.snapshot()

        async def worker() -> None:
            nonlocal nbytes
            while (t0 := time.perf_counter()) < stop_at:
                url, headers = ep.targets[next(counter) % n]
                status = 0
                try:
                    async with client.get(base + expand(url), headers=headers) as response:
                        size = len(await response.read())
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    transport_errors[type(exc).__name__] += 1
                    size = 0
                t1 = time.perf_counter()
                if measure_from <= t0 and t1 <= stop_at:
                    latencies.append(t1 - t0)
                    statuses[status] += 1
                    nbytes += size

        await asyncio.gather(clock(), *(worker() for _ in range(args.connections)))
    latencies.sort()
    count = len(latencies)
    errors = sum(v for s, v in statuses.items() if not 200 <= s < 300)
    detail = {f"http_{s}": v for s, v in statuses.items() if not 200 <= s < 300}
    detail.update(transport_errors)

    def pct(q: float) -> float:
        return 1000 * latencies[min(int(q * count), count - 1)] if count else float("nan")

    return Result(
        key=ep.key,
        label=ep.label,
        tool="python",
        rps=count / args.duration,
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
        errors=errors,
        requests=count,
        bytes_per_request=nbytes // max(count, 1),
        cpu_pct=CpuMeter.usage(snapshots["before"], snapshots["after"], "self"),
        redis_per_request=CpuMeter.per_request(*snapshots.values(), "redis_commands", count),
        sql_per_request=CpuMeter.per_request(*snapshots.values(), "sql_statements", count),
        error_detail=detail,
        feed_sources=CpuMeter.feed_sources(*snapshots.values()),
        gc_pauses=CpuMeter.gc_pauses(*snapshots.values()),
    )


# -- paced latency (open loop) ---------------------------------------------------------------
#
# Requests sent at a constant rate, each at its scheduled time whether or not earlier ones
# have been answered; its latency runs from that time (not from when a connection was free),
# so a stall counts against every request it delays (no coordinated omission).

LATE_NS = 1_000_000  # a request the driver starts this long after its time is "late"
SLOW_NS = 20_000_000  # a paced answer slower than this is counted in its second of the phase
REDIS_STALL_MS = 5  # a Redis latency event this long or longer is recorded per paced phase
PREPARE_S = 5.0  # the most a paced phase waits for each of its connections to open
DRAIN_S = 5.0  # after the last send, wait this long for the answers (wrk's --timeout)
IDLE_S = 1.0  # an idle connection older than this is closed, not reused: the server's
# keep-alive timeout (gunicorn's 2 s) could close it as the request goes out


def percentile(ordered: list[int], q: float) -> int | None:
    """The ``q`` quantile (0..1) of sorted values: the value at index ``int(q * n)``, the
    rule of the Python driver's p50/p99; None when there are none."""
    if not ordered:
        return None
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


class ResponseParser:
    """Frames HTTP/1.1 responses on one keep-alive connection with httptools (the parser
    uvicorn uses): ``feed`` returns the responses the data completes, each as (status,
    whether the connection stays open); bodies are skipped."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._done: list[tuple[int, bool]] = []
        self._open = False  # a response has begun and not ended

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._open = True

    def on_message_complete(self) -> None:
        self._open = False
        self._done.append((self._parser.get_status_code(), self._parser.should_keep_alive()))

    def feed(self, data: bytes) -> list[tuple[int, bool]]:
        """Raises ValueError on a malformed response."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise ValueError(str(exc)) from exc
        done, self._done = self._done, []
        return done

    def eof(self) -> tuple[int, bool] | None:
        """The response a closed connection completes (a body read until close), if any."""
        if not self._open:
            return None
        self._open = False
        return self._parser.get_status_code(), False


class _PacedConnection(asyncio.Protocol):
    def __init__(self, pool: PacedPool) -> None:
        self.pool = pool
        self.parser = ResponseParser()
        self.transport: asyncio.Transport | None = None
        self.request: tuple[int, bool] | None = None  # (scheduled ns, measured) in flight
        self.idle_since = 0.0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.pool.ready(self)

    def data_received(self, data: bytes) -> None:
        try:
            replies = self.parser.feed(data)
        except ValueError:
            self.pool.lost(self, "bad_response")
            return
        for status, keep_alive in replies:
            self.pool.answered(self, status, keep_alive)

    def eof_received(self) -> bool | None:
        reply = self.parser.eof()
        if reply is not None:
            self.pool.answered(self, reply[0], False)
        return None  # close

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.lost(self, type(exc).__name__ if exc else "closed")


class PacedPool:
    """HTTP/1.1 keep-alive connections to one server, driven by callbacks (no task per
    request). A request takes an idle connection, or opens one when none is idle, up to
    ``cap``; beyond that it waits for the first to come free (``waits``). Which idle one:
    with ``spread``, the one idle longest, so requests go round every open connection as
    many readers' would (:meth:`prepare` opens them first); else the most recently used, so
    a few connections carry nearly every request."""

    def __init__(self, host: str, port: int, cap: int, *, spread: bool = True) -> None:
        self.loop = asyncio.get_running_loop()
        self.host, self.port, self.cap, self.spread = host, port, cap, spread
        self.idle: deque[_PacedConnection] = deque()
        self.busy: set[_PacedConnection] = set()
        self.queue: deque[tuple[bytes, int, bool]] = deque()  # not yet sent
        self.opening: set[asyncio.Task[Any]] = set()
        self.open = 0  # connections open or being opened
        self.opened = self.waits = self.in_flight = 0
        self.latencies: list[int] = []  # ns, of the measured requests answered
        self.slow: list[int] = []  # when those over SLOW_NS were due (ns)
        self.statuses: Counter[int] = Counter()
        self.failures: Counter[str] = Counter()
        self.closing = False
        self.drained: asyncio.Future[None] | None = None

    def submit(self, payload: bytes, due: int, measured: bool) -> None:
        self.in_flight += 1
        now = time.monotonic()
        while self.idle:
            conn = self.idle.popleft() if self.spread else self.idle.pop()
            if now - conn.idle_since < IDLE_S:
                self._send(conn, payload, due, measured)
                return
            self._close(conn)  # stale; connection_lost does the accounting
        self.queue.append((payload, due, measured))
        if self.open < self.cap:
            self._connect()
        elif measured:
            self.waits += 1

    async def prepare(self, count: int, probe: bytes) -> None:
        """Open ``count`` connections (up to ``cap``) before the first request, one at a
        time, each answering ``probe`` (not measured) before the next opens: the server's
        workers accept them one by one, as they would readers arriving over time. (Opened
        at once, the worker that wakes first accepts them all, and the other idles.)"""
        for _ in range(min(count, self.cap) - self.open):
            self.drained = self.loop.create_future()
            self.in_flight += 1
            self.queue.append((probe, time.monotonic_ns(), False))
            self._connect()  # connection_made sends it
            await asyncio.wait({self.drained}, timeout=PREPARE_S)
            if not self.drained.done():
                break
        self.drained = None

    def local_ports(self) -> list[int]:
        """The client-side port of every open connection."""
        ports = []
        for conn in [*self.idle, *self.busy]:
            name = conn.transport.get_extra_info("sockname") if conn.transport else None
            if name:
                ports.append(int(name[1]))
        return ports

    def _send(self, conn: _PacedConnection, payload: bytes, due: int, measured: bool) -> None:
        assert conn.transport is not None
        conn.request = (due, measured)
        self.busy.add(conn)
        conn.transport.write(payload)

    def _close(self, conn: _PacedConnection) -> None:
        if conn.transport is not None:
            conn.transport.close()

    def _connect(self) -> None:
        self.open += 1
        self.opened += 1
        task = self.loop.create_task(
            self.loop.create_connection(lambda: _PacedConnection(self), self.host, self.port)
        )
        self.opening.add(task)
        task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[Any]) -> None:
        self.opening.discard(task)
        if task.cancelled():
            failure = "cancelled"
        elif (exc := task.exception()) is not None:
            failure = type(exc).__name__
        else:
            return  # connection_made has put it to work
        self.open -= 1
        if self.queue and not self.closing:
            _, due, measured = self.queue.popleft()
            self._done(due, measured, error=f"connect_{failure}")
            if self.queue and self.open < self.cap:
                self._connect()

    def ready(self, conn: _PacedConnection) -> None:
        """A connection is free (new, or its answer is in): the next queued request, or idle."""
        self.busy.discard(conn)
        if self.queue:
            self._send(conn, *self.queue.popleft())
        else:
            conn.idle_since = time.monotonic()
            self.idle.append(conn)

    def answered(self, conn: _PacedConnection, status: int, keep_alive: bool) -> None:
        if conn.request is None:
            return  # an answer nobody asked for: ignored
        due, measured = conn.request
        conn.request = None
        self._done(due, measured, status=status)
        if keep_alive and not self.closing:
            self.ready(conn)
        else:
            self.busy.discard(conn)
            self._close(conn)

    def lost(self, conn: _PacedConnection, why: str) -> None:
        if conn.closed:
            return
        conn.closed = True
        self.open -= 1
        self.busy.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.request is not None:
            due, measured = conn.request
            conn.request = None
            self._done(due, measured, error=why)
        self._close(conn)
        if self.queue and self.open < self.cap and not self.closing:
            self._connect()

    def _done(self, due: int, measured: bool, status: int = 0, error: str | None = None) -> None:
        self.in_flight -= 1
        if measured:
            if error is None:
                latency = time.monotonic_ns() - due
                self.latencies.append(latency)
                if latency > SLOW_NS:
                    self.slow.append(due)
                self.statuses[status] += 1
            else:
                self.failures[error] += 1
        if self.in_flight == 0 and self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    async def drain(self) -> None:
        """Wait for every request sent; after ``DRAIN_S`` the rest count as timeouts."""
        if self.in_flight:
            self.drained = self.loop.create_future()
            await asyncio.wait({self.drained}, timeout=DRAIN_S)
        self.closing = True
        for conn in list(self.busy):
            if conn.request is not None and conn.request[1]:
                self.failures["timeout"] += 1
            conn.request = None
        self.failures["timeout"] += sum(1 for _, _, measured in self.queue if measured)
        self.queue.clear()
        if not self.failures["timeout"]:
            del self.failures["timeout"]
        for task in self.opening:
            task.cancel()
        for conn in [*self.busy, *self.idle]:
            self._close(conn)


class _TimeSpec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _ITimerSpec(ctypes.Structure):
    _fields_ = [("it_interval", _TimeSpec), ("it_value", _TimeSpec)]


class Ticker:
    """Calls ``fire(ticks)`` with the number of ticks due so far, a tick being due at
    ``start + k * interval`` (ns of CLOCK_MONOTONIC, ``time.monotonic_ns``'s clock), k = 0, 1..
    A Linux timerfd read by the event loop: the kernel's high-resolution timer, so a request
    starts within about 0.1 ms of its time on an idle machine. Without one, the loop's own
    timer, which has 1 ms steps (uvloop's and epoll's): starts up to 1 ms late."""

    def __init__(self, start: int, interval: int, fire: Callable[[int], None]) -> None:
        self.loop = asyncio.get_running_loop()
        self.start, self.interval, self.fire = start, interval, fire
        self.ticks = 0
        self.handle: asyncio.TimerHandle | None = None
        self.fd = self._timerfd()
        self.kind = "timerfd" if self.fd is not None else "event loop timer"
        if self.fd is not None:
            self.loop.add_reader(self.fd, self._expired)
        else:
            self._poll()

    def _timerfd(self) -> int | None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.timerfd_create(time.CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        spec = _ITimerSpec(
            _TimeSpec(*divmod(self.interval, 10**9)), _TimeSpec(*divmod(self.start, 10**9))
        )
        if libc.timerfd_settime(fd, 1, ctypes.byref(spec), None) != 0:  # 1: TFD_TIMER_ABSTIME
            os.close(fd)
            return None
        return int(fd)

    def _expired(self) -> None:
        assert self.fd is not None
        try:
            self.ticks += int.from_bytes(os.read(self.fd, 8), sys.byteorder)
        except BlockingIOError:
            return
        self.fire(self.ticks)

    def _poll(self) -> None:
        now = time.monotonic_ns()
        if now >= self.start:
            self.ticks = (now - self.start) // self.interval + 1
            self.fire(self.ticks)
        wait = self.start + self.ticks * self.interval - time.monotonic_ns()
        # whole milliseconds, rounded up: less would wake early and spin
        self.handle = self.loop.call_later(max(-(-wait // 1_000_000), 1) / 1000, self._poll)

    def close(self) -> None:
        if self.fd is not None:
            self.loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = None
        if self.handle is not None:
            self.handle.cancel()


def paced_requests(targets: list[Target], host: str) -> list[tuple[str | None, bytes]]:
    """Each target as raw request bytes; a path with ``{NOW}`` is kept as (path, the rest)
    and expanded when it is sent, as the other drivers do."""
    built: list[tuple[str | None, bytes]] = []
    for path, headers in targets:
        rest = f" HTTP/1.1\r\nHost: {host}\r\n"
        rest += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        if "{NOW}" in path:
            built.append((path, rest.encode()))
        else:
            built.append((None, f"GET {path}{rest}".encode()))
    return built


async def run_paced(
    base: str, ep: Endpoint, rate: float, args: argparse.Namespace, meter: CpuMeter
) -> dict[str, Any]:
    """``rate`` requests/s over the endpoint's rotating targets for ``args.paced_warmup`` s
    (not measured) then ``args.paced_seconds`` s; latency = answer time - scheduled time."""
    url = urlsplit(base)
    spread = args.paced_reuse == "spread"
    pool = PacedPool(
        url.hostname or "127.0.0.1", url.port or 80, args.paced_connections, spread=spread
    )
    requests = paced_requests(ep.targets, url.netloc)
    interval = max(round(1e9 / rate), 1)
    if spread:  # as many as are each used well within IDLE_S at this rate
        probe = f"GET {args.paced_probe} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode()
        await pool.prepare(max(1, int(rate * IDLE_S / 4)), probe)
    accepted_by = meter.connections_by_worker(pool.local_ports())
    warmup_ns, measured_ns = int(args.paced_warmup * 1e9), int(args.paced_seconds * 1e9)
    total = (warmup_ns + measured_ns) // interval
    before = meter.snapshot()
    start = time.monotonic_ns() + 20_000_000
    measure_from, stop_at = start + warmup_ns, start + warmup_ns + measured_ns
    sent = late = 0
    finished = asyncio.get_running_loop().create_future()

    def fire(ticks: int) -> None:
        nonlocal sent, late
        upto = min(ticks, total)
        while sent < upto:
            due = start + sent * interval
            measured = measure_from <= due < stop_at
            if measured and time.monotonic_ns() - due > LATE_NS:
                late += 1
            path, rest = requests[sent % len(requests)]
            payload = rest if path is None else b"GET " + expand(path).encode() + rest
            pool.submit(payload, due, measured)
            sent += 1
        if sent >= total and not finished.done():
            finished.set_result(None)

    collecting = gc.isenabled()
    gc.disable()  # no collector pauses in the driver during the phase
    ticker = Ticker(start, interval, fire)
    try:
        await finished
        ticker.close()
        await pool.drain()
    finally:
        ticker.close()
        if collecting:
            gc.enable()
    after = meter.snapshot()
    latencies = sorted(pool.latencies)
    detail = {f"http_{s}": n for s, n in pool.statuses.items() if not 200 <= s < 300}
    detail.update(pool.failures)

    def ms(q: float) -> float | None:
        value = percentile(latencies, q)
        return None if value is None else round(value / 1e6, 3)

    cpu = CpuMeter.usage(before, after, "self")
    # when the slow answers came: {second of the measured part: how many}, with the wall
    # clock of its start, to line them up with the services' logs
    slow = Counter((due - measure_from) // 1_000_000_000 for due in pool.slow)
    from_unix = time.time() - (time.monotonic_ns() - measure_from) / 1e9
    return {
        "fraction": args.paced,
        "measured_from_unix": round(from_unix, 3),
        "slow_20ms_by_second": {str(k): n for k, n in sorted(slow.items())},
        "rate": round(1e9 / interval, 1),
        "seconds": args.paced_seconds,
        "requests": len(latencies) + sum(pool.failures.values()),
        "p50_ms": ms(0.50),
        "p99_ms": ms(0.99),
        "p999_ms": ms(0.999),
        "max_ms": ms(1.0),
        "errors": sum(detail.values()),
        "error_detail": detail,
        "late_1ms": late,
        "pool_waits": pool.waits,
        "connections": pool.opened,
        # the connections open at the start, by the API worker that accepted them (ranked by
        # pid as in cpu_pct): keep-alive keeps each on its worker for the whole phase
        "connections_by_worker": accepted_by,
        "timer": ticker.kind,
        "loadgen_cpu_pct": cpu.get("loadgen"),
        # the driver's CPU per request sent (warm-up included, as the CPU figures are)
        "loadgen_cpu_ms_per_request": round(10 * cpu["loadgen"] / (1e9 / interval), 3),
        "cpu_pct": cpu,
        # the API workers' collector pauses over the phase (its warm-up included)
        "gc_pauses": CpuMeter.gc_pauses(before, after),
        # how often the services' event loops woke 20/50/100 ms late over the phase
        "loop_lags": CpuMeter.loop_lags(before, after),
        # the Redis server's own slow moments in the measured part (at_s: its second)
        "redis_stalls": meter.counters.redis_stalls(from_unix, from_unix + args.paced_seconds),
    }


async def paced_round(
    base: str,
    eps: dict[str, Endpoint],
    rows: list[Result],
    args: argparse.Namespace,
    meter: CpuMeter,
    label: str,
) -> None:
    """The paced phase of one round: each measured endpoint at ``args.paced`` x the req/s
    it reached in this round's throughput phase; the figures go to ``row.paced``."""
    for row in rows:
        rate = args.paced * row.rps
        if rate < 1:
            emit(f"  {label} paced: {row.label}: skipped ({row.rps:.1f} req/s measured)", err=True)
            continue
        emit(f"  {label} paced: {row.label} at {rate:.0f} req/s", err=True)
        row.paced = await run_paced(base, eps[row.key], rate, args, meter)


def combine_paced(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One paced row from the rounds': the round with the median p99; errors, late starts
    and pool waits summed over the rounds, the max the largest of them."""
    rounds = [p for p in rounds if p]
    if not rounds:
        return {}
    key = [p["p99_ms"] if p["p99_ms"] is not None else float("inf") for p in rounds]
    chosen = rounds[sorted(range(len(rounds)), key=key.__getitem__)[(len(rounds) - 1) // 2]]
    highest = [p["max_ms"] for p in rounds if p["max_ms"] is not None]
    return {
        **chosen,
        "max_ms": max(highest) if highest else None,
        "errors": sum(p["errors"] for p in rounds),
        "error_detail": dict(sum((Counter(p["error_detail"]) for p in rounds), Counter())),
        "late_1ms": sum(p["late_1ms"] for p in rounds),
        "pool_waits": sum(p["pool_waits"] for p in rounds),
    }


# -- report ----------------------------------------------------------------------------------


STACK = ("api", "rpc", "mariadb", "redis")
WORKER_PREFIX = "api_worker_"
UNEVEN = 1.5  # one API worker busier than another by this factor: the row is uneven


def worker_split(cpu_pct: dict[str, float]) -> list[float]:
    """Percent of a core of each API worker (by pid order)."""
    return [v for k, v in sorted(cpu_pct.items()) if k.startswith(WORKER_PREFIX)]


def uneven(split: list[float]) -> bool:
    return len(split) > 1 and max(split) > UNEVEN * max(min(split), 1.0)


def with_ratios(results: list[Result]) -> list[Result]:
    for r in results:
        busy = sum(r.cpu_pct.get(k, 0.0) for k in STACK) / 100  # cores
        r.stack_cpu_ms_per_request = round(1000 * busy / r.rps, 3) if r.rps else None
    floor = next((r for r in results if r.key == "floor"), None)
    for r in results:
        r.ratio_to_floor = round(r.rps / floor.rps, 3) if floor and floor.rps else None
        if floor and floor.stack_cpu_ms_per_request and r.stack_cpu_ms_per_request:
            r.cpu_ratio_to_floor = round(
                floor.stack_cpu_ms_per_request / r.stack_cpu_ms_per_request, 3
            )
    return results


def median(values: list[float]) -> float | None:
    values = sorted(values)
    return values[(len(values) - 1) // 2] if values else None


def combine(rounds: list[list[Result]]) -> list[Result]:
    """One row per endpoint: the round with the median req/s; ratio = median of the rounds'
    ratios (each measured against that round's floor); errors summed over the rounds."""
    combined = []
    for index in range(len(rounds[0])):
        same = [rows[index] for rows in rounds]
        chosen = sorted(same, key=lambda r: r.rps)[(len(same) - 1) // 2]
        merged = Result(**{**asdict(chosen), "errors": sum(r.errors for r in same)})
        merged.error_detail = dict(sum((Counter(r.error_detail) for r in same), Counter()))
        merged.ratio_to_floor = median([r.ratio_to_floor for r in same if r.ratio_to_floor])
        merged.cpu_ratio_to_floor = median(
            [r.cpu_ratio_to_floor for r in same if r.cpu_ratio_to_floor]
        )
        merged.stack_cpu_ms_per_request = median(
            [r.stack_cpu_ms_per_request for r in same if r.stack_cpu_ms_per_request]
        )
        merged.paced = combine_paced([r.paced for r in same])
        if len(same) > 1:
            merged.rounds = [
                {
                    "rps": round(r.rps, 1),
                    "ratio": r.ratio_to_floor,
                    "cpu_ratio": r.cpu_ratio_to_floor,
                    "p99_ms": r.p99_ms,
                    "other_cpu_pct": r.cpu_pct.get("other"),
                    "api_workers_cpu_pct": worker_split(r.cpu_pct),
                    "uneven": uneven(worker_split(r.cpu_pct)),
                    "gc_pauses": r.gc_pauses,
                    **(
                        {
                            "paced_p99_ms": r.paced.get("p99_ms"),
                            "paced_measured_from_unix": r.paced.get("measured_from_unix"),
                            "paced_slow_20ms_by_second": r.paced.get("slow_20ms_by_second"),
                            "paced_gc_pauses": r.paced.get("gc_pauses"),
                            "paced_redis_stalls": r.paced.get("redis_stalls"),
                            "paced_loop_lags": r.paced.get("loop_lags"),
                            "paced_connections_by_worker": r.paced.get("connections_by_worker"),
                        }
                        if r.paced
                        else {}
                    ),
                }
                for r in same
            ]
        combined.append(merged)
    return combined


def table(results: list[Result], skipped: dict[str, str]) -> str:
    head = (
        f"{'endpoint':<34} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'x floor':>7} {'cpu ms/req':>10} {'x floor(cpu)':>12} {'B/req':>6} {'redis/req':>9} "
        f"{'sql/req':>7}  "
        "cpu% api/rpc/db/redis/loadgen/other"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        c = r.cpu_pct
        cpu = "/".join(
            f"{c.get(k, 0):.0f}" for k in ("api", "rpc", "mariadb", "redis", "loadgen", "other")
        )
        ratio = f"{r.ratio_to_floor:.2f}" if r.ratio_to_floor is not None else "-"

        def num(value: float | None, digits: int = 1) -> str:
            return "-" if value is None else f"{value:.{digits}f}"

        lines.append(
            f"{r.label:<34} {r.rps:>8.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.errors:>6} "
            f"{ratio:>7} {num(r.stack_cpu_ms_per_request, 2):>10} "
            f"{num(r.cpu_ratio_to_floor, 2):>12} {r.bytes_per_request:>6} "
            f"{num(r.redis_per_request):>9} "
            f"{num(r.sql_per_request):>7}  {cpu}"
        )
    for key, why in skipped.items():
        lines.append(f"{dict(ORDER)[key]:<34} not measured: {why}")
    return "\n".join(lines)


def paced_table(results: list[Result]) -> str:
    """The paced phase's figures, one row per endpoint that has them ("" when none has)."""
    rows = [r for r in results if r.paced]
    if not rows:
        return ""
    head = (
        f"{'endpoint':<34} {'rate/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} "
        f"{'max ms':>7} {'errors':>6} {'late>1ms':>8} {'waits':>5} {'conns':>5} "
        f"{'redis stalls':>12} {'late loop':>9}  cpu% api/loadgen"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        p = r.paced

        def num(value: float | None, width: int) -> str:
            return f"{'-' if value is None else f'{value:.2f}':>{width}}"

        cpu = p.get("cpu_pct", {})
        stalls = p.get("redis_stalls")  # how many seconds had one, and the longest
        seen = "-" if stalls is None else f"{len(stalls)}"
        if stalls:
            seen += f", {max(e['ms'] for e in stalls)} ms"
        lags = p.get("loop_lags") or {}  # API wake-ups 20 ms late or more, and the rpc's
        late = f"{lags.get('api', {}).get('over_20ms', '-')}/{lags.get('rpc', {}).get('over_20ms', '-')}"
        lines.append(
            f"{r.label:<34} {p['rate']:>7.0f} {num(p['p50_ms'], 7)} {num(p['p99_ms'], 7)} "
            f"{num(p['p999_ms'], 8)} {num(p['max_ms'], 7)} {p['errors']:>6} "
            f"{p['late_1ms']:>8} {p['pool_waits']:>5} {p['connections']:>5} {seen:>12} {late:>9}  "
            f"{cpu.get('api', 0):.0f}/{cpu.get('loadgen', 0):.0f}"
        )
    return "\n".join(lines)


def verdict(results: list[Result], target: float | None) -> list[str]:
    lines = []
    for r in results:
        aim = TARGETS.get(r.key) if target is None else target
        if aim is not None and r.key in TARGETS and r.ratio_to_floor is not None:
            ok = "meets" if r.ratio_to_floor >= aim else "MISSES"
            cpu = f"{r.cpu_ratio_to_floor:.2f}" if r.cpu_ratio_to_floor else "-"
            lines.append(
                f"{r.label}: {r.ratio_to_floor:.2f} x floor (by CPU per request: {cpu}) "
                f"{ok} the {aim} target"
            )
        if r.feed_sources:
            total = sum(r.feed_sources.values())
            shares = ", ".join(
                f"{source} {n / total:.0%}"
                for source, n in sorted(r.feed_sources.items(), key=lambda p: -p[1])
            )
            lines.append(f"  {r.label}: {total} batches, from {shares}")
        pauses = [row.get("gc_pauses") or {} for row in r.rounds] or [r.gc_pauses]
        if any(p.get("long") for p in pauses):
            each = ", ".join(f"{p.get('long', 0)} ({p.get('ms', 0):.0f} ms)" for p in pauses)
            lines.append(f"  {r.label}: API collector pauses over 25 ms (all), by round: {each}")
        rounds = r.rounds or [{"api_workers_cpu_pct": worker_split(r.cpu_pct)}]
        for number, row in enumerate(rounds, 1):
            split = row["api_workers_cpu_pct"]
            if uneven(split):
                shares = " / ".join(f"{v:.0f} %" for v in split)
                lines.append(
                    f"  {r.label}, round {number}: uneven, the API workers at {shares} of a "
                    "core (keep-alive connections held by one worker); trust its CPU ratio"
                )
    return lines


def git_head() -> dict[str, Any]:
    def git(*a: str) -> str:
        done = subprocess.run(
            ["git", *a], cwd=HERE.parent, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def write_report(out: Path, report: dict[str, Any]) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return out


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="http://127.0.0.1:8000", help="API base URL (loopback)")
    # quiet below 10 %: the stack at rest uses about 5 %; the recommender catching up on the
    # warm-up's events (paced at half a core) used 15 %, and at 25 % the floor was measured
    # beside it
    add_load_args(p, quiet_below=10)
    p.add_argument("--mobiles", default="13911111111", help="comma-separated users to log in")
    p.add_argument("--anon-ids", type=int, default=32, help="anonymous device ids to rotate")
    p.add_argument("--articles", type=int, default=300, help="article ids to rotate")
    p.add_argument("--fallback-ids", help="file of article ids, used if the feed is missing")
    p.add_argument("--warm-ids", help="file of article ids whose caches to fill first (all)")
    p.add_argument("--only", help="comma-separated endpoint keys: " + ",".join(k for k, _ in ORDER))
    p.add_argument(
        "--target", type=float, default=None, help="one ratio to the floor for every endpoint"
    )
    p.add_argument("--api-pid", type=int, help="gunicorn master pid (CPU accounting)")
    p.add_argument("--rpc-pid", type=int, help="recommendation service pid")
    p.add_argument("--redis-port", type=int, default=6379)
    p.add_argument("--redis-url", help="Redis server to count commands on (redis://h:p)")
    p.add_argument("--mysql-url", help="MariaDB to count statements on (mysql://u:pw@h:p)")
    p.add_argument("--meta", action="append", default=[], help="KEY=VALUE recorded in the JSON")
    p.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    p.add_argument(
        "--paced",
        type=float,
        default=0.5,
        help="after each round's throughput, a fixed-rate latency phase per endpoint at this "
        "fraction of its req/s (0: none)",
    )
    p.add_argument(
        "--paced-seconds",
        type=float,
        default=10.0,
        help="measured seconds of the paced phase per endpoint",
    )
    p.add_argument("--paced-warmup", type=float, default=2.0, help="unmeasured seconds before it")
    p.add_argument(
        "--paced-connections", type=int, default=64, help="most connections its driver opens"
    )
    p.add_argument(
        "--paced-probe",
        default="/app/",
        help="path each paced connection asks once as it opens (not measured; spread only)",
    )
    p.add_argument(
        "--paced-reuse",
        choices=("spread", "newest"),
        default="spread",
        help="which idle connection a paced request takes: spread (opened first, each in "
        "turn, as many readers' requests arrive) or newest (the most recently used; a few "
        "connections, and so often one API worker, carry nearly every request)",
    )
    args = p.parse_args(argv)
    unknown = sorted(set(args.only.split(",")) - {k for k, _ in ORDER}) if args.only else []
    if unknown:  # a misspelt key would measure nothing for it, silently
        p.error(
            f"--only: unknown endpoint keys {','.join(unknown)} (known: "
            + ",".join(k for k, _ in ORDER)
            + ")"
        )
    if not (
        0 <= args.paced <= 1.5
        and 1 <= args.paced_seconds <= 300
        and 0 <= args.paced_warmup <= 60
        and 1 <= args.paced_connections <= 1000
    ):
        p.error(
            "bounds: 0 <= --paced <= 1.5, 1 <= --paced-seconds <= 300, "
            "0 <= --paced-warmup <= 60, 1 <= --paced-connections <= 1000"
        )
    args.mobiles = [m for m in args.mobiles.split(",") if m]
    if args.fallback_ids:
        args.fallback_ids = [int(x) for x in Path(args.fallback_ids).read_text().split()]
    args.warm_ids = (
        [int(x) for x in Path(args.warm_ids).read_text().split()] if args.warm_ids else []
    )
    check_load_args(p, args)
    return args


def add_load_args(
    p: argparse.ArgumentParser, *, rounds: int = 1, quiet_below: float = 25, tool: bool = True
) -> None:
    """The load options every wrk-driven suite takes (load.py, search.py, mis.py, bound.py);
    ``tool`` False: wrk only, no ``--tool``."""
    if tool:
        p.add_argument("--tool", choices=["auto", "wrk", "python", "both"], default="auto")
    p.add_argument("--wrk", default=shutil.which("wrk") or "wrk", help="wrk binary")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--duration", type=int, default=10, help="measured seconds per endpoint")
    p.add_argument("--warmup", type=int, default=2, help="unmeasured seconds before each")
    p.add_argument("--rounds", type=int, default=rounds, help="repeat all; report the median")
    p.add_argument(
        "--wait-quiet", type=float, default=30, help="max s to wait for an idle machine per round"
    )
    p.add_argument(
        "--quiet-below", type=float, default=quiet_below, help="idle: %% of one core busy"
    )


def check_load_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The checks every wrk-driven suite shares (load.py, search.py); resolves ``--tool auto``."""
    host = urlsplit(args.base).hostname
    if host not in LOOPBACK:
        p.error(f"--base must be a loopback address, not {host}")
    if not (1 <= args.duration <= 300 and 0 <= args.warmup <= 60 and 1 <= args.rounds <= 10):
        p.error("bounds: 1 <= --duration <= 300, 0 <= --warmup <= 60, 1 <= --rounds <= 10")
    if not 0 <= args.wait_quiet <= 600:
        p.error("--wait-quiet must be between 0 and 600 seconds")
    if not 1 <= args.connections <= 1000:
        p.error("--connections must be between 1 and 1000")
    if args.tool == "auto":
        args.tool = "wrk" if shutil.which(args.wrk) else "python"
    if args.tool in ("wrk", "both") and not shutil.which(args.wrk):
        p.error("wrk is not installed (apt-get install wrk) — use --tool python")


async def measure_rounds(
    base: str,
    eps: dict[str, Endpoint],
    wanted: list[str],
    args: argparse.Namespace,
    meter: CpuMeter,
) -> tuple[dict[str, list[Result]], list[float]]:
    """Each round: wait for a quiet machine, then every wanted endpoint with each tool;
    the median of the rounds per endpoint, and the background CPU seen before each round.
    ``args`` needs tool, rounds, wait_quiet, quiet_below and what run_wrk/run_python read."""
    tools = ["wrk", "python"] if args.tool == "both" else [args.tool]
    per_round: dict[str, list[list[Result]]] = {tool: [] for tool in tools}
    background: list[float] = []
    with tempfile.TemporaryDirectory(prefix="toutiao-bench-") as tmp:
        for number in range(1, args.rounds + 1):
            busy = await wait_quiet(args.wait_quiet, args.quiet_below)
            background.append(busy)
            if busy >= args.quiet_below:
                emit(
                    f"  warning: the machine is {busy:.0f}% busy (of one core) before any load; "
                    "other processes will share the CPU with this round",
                    err=True,
                )
            for tool in tools:
                rows = []
                for key in wanted:
                    ep = eps[key]
                    if ep.skipped:
                        continue
                    emit(
                        f"  round {number}/{args.rounds} {tool}: {ep.label} "
                        f"({len(ep.targets)} targets)",
                        err=True,
                    )
                    if tool == "wrk":
                        rows.append(run_wrk(base, ep, args, meter, Path(tmp)))
                    else:
                        rows.append(await run_python(base, ep, args, meter))
                per_round[tool].append(with_ratios(rows))
            if getattr(args, "paced", 0) > 0:  # suites sharing this function have no --paced
                label = f"round {number}/{args.rounds}"
                await paced_round(base, eps, per_round[tools[0]][-1], args, meter, label)
    return {tool: combine(rounds) for tool, rounds in per_round.items()}, background


async def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    counters = ServerCounters(args.redis_url, args.mysql_url, args.base)
    meter = CpuMeter(args.api_pid, args.rpc_pid, args.redis_port, counters)
    if args.paced > 0:
        counters.watch_redis_latency(REDIS_STALL_MS)
    try:
        return await _drive(args, counters, meter)
    finally:
        counters.unwatch_redis_latency()


async def _drive(args: argparse.Namespace, counters: ServerCounters, meter: CpuMeter) -> int:
    base = args.base.rstrip("/")
    tools = ["wrk", "python"] if args.tool == "both" else [args.tool]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15.0)) as session:
        client = Api(session, base)
        health = await client.get("/healthz")
        warm_all = await warm_articles(client, args.warm_ids, args.connections)
        discovery = Discovery(client, args)
        eps = await discovery.run()
        wanted = [k for k, _ in ORDER]
        if args.only:
            wanted = [k for k in wanted if k in set(args.only.split(",")) or k == "floor"]
        warm: dict[str, Any] = {}
        for key in wanted:
            ep = eps[key]
            if ep.skipped is None and ep.targets:
                warm[key] = await probe_and_warm(client, ep)
    skipped = {k: eps[k].skipped for k in wanted if eps[k].skipped}
    emit(
        f"targets: {json.dumps(discovery.notes, ensure_ascii=False)}\n"
        f"driving {base} with {'+'.join(tools)}: {args.connections} connections, "
        f"{args.warmup:g}s warm-up + {args.duration:g}s per endpoint",
        err=True,
    )
    results, background = await measure_rounds(base, eps, wanted, args, meter)

    for tool, rows in results.items():
        emit(
            f"\n== {tool}: {args.connections} connections, {args.duration:g}s per endpoint"
            f"{f', median of {args.rounds} rounds' if args.rounds > 1 else ''} =="
        )
        emit(table(rows, skipped))
        for line in verdict(rows, args.target):
            emit("  " + line)
        if paced := paced_table(rows):
            emit(
                f"\n== paced (open loop): {args.paced:g} x each row's req/s above, "
                f"{args.paced_warmup:g}s warm-up + {args.paced_seconds:g}s per endpoint"
                f"{f', round with the median p99 of {args.rounds}' if args.rounds > 1 else ''}; "
                "latency from each request's scheduled send time =="
            )
            emit(paced)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": base,
        "settings": {
            "connections": args.connections,
            "wrk_threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "background_cpu_pct_before_each_round": [round(b, 1) for b in background],
            "tools": tools,
            "target_ratio": args.target if args.target is not None else TARGETS,
            "paced": {
                "fraction": args.paced,
                "seconds": args.paced_seconds,
                "warmup_s": args.paced_warmup,
                "max_connections": args.paced_connections,
                "reuse": args.paced_reuse,
                "late_ms": LATE_NS / 1e6,
            },
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "git": git_head(),
        "meta": dict(item.split("=", 1) for item in args.meta if "=" in item),
        "healthz": health.json() if health.status_code < 500 else excerpt(health),
        "targets": discovery.notes,
        "warm": warm,
        "warm_all_articles": warm_all,
        "skipped": skipped,
        "results": {tool: [asdict(r) for r in rows] for tool, rows in results.items()},
    }
    out = write_report(Path(args.out), report)
    emit(f"\nwritten: {out}")
    failed = any(r.errors or r.paced.get("errors") for rows in results.values() for r in rows)
    return 1 if failed else 0


def run_cli(entry: Callable[[], Coroutine[Any, Any, int]]) -> None:
    """Run a driver's async ``main`` (on uvloop when installed) and exit with its status."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        sys.exit(runner(entry()))
    except KeyboardInterrupt:
        emit("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    run_cli(main)
