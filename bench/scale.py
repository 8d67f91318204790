"""The scale mode of bench/run.sh: the same endpoints at several catalogue sizes, side by side.

Three jobs, called by run.sh:

- ``scale.py --measure OUT.json --role api=PID ...``: after a run's load, each started
  process's peak resident memory (``VmHWM`` of it and its children: gunicorn workers, the
  tokenising processes of the task worker), what the catalogue occupies in Redis (the sum of
  ``MEMORY USAGE`` over the bench's database) and in MariaDB, the seed and index-build times.
- ``scale.py --restarted rpc|api ...``: how long a restarted ``toutiao rpc`` (or API) takes to
  answer with a correct similar-articles list (the one kept in Redis), added to OUT.json.
- ``scale.py DIR DIR ...``: the table. Per endpoint and size: CPU ms per request (the API
  and the recommender processes alone, then the whole stack with MariaDB and Redis), SQL
  statements and Redis commands per request, the p99 of the paced (fixed-rate) phase when
  the reports have one, and the ratio of the largest size to the smallest; then memory,
  storage and timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MIB = 1024 * 1024


def _children(pid: int) -> list[int]:
    found, todo = [], [pid]
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                text = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            ppid = int(text[text.rindex(")") + 2 :].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_memory(pid: int) -> dict[str, Any]:
    """Peak RSS of the process and of each descendant (MiB)."""
    each = {p: _status_kib(p, "VmHWM") for p in _children(pid)}
    values = {p: round(kib / 1024, 1) for p, kib in each.items() if kib}
    return {
        "largest_mib": max(values.values(), default=None),
        "sum_mib": round(sum(values.values()), 1),
        "processes": len(values),
    }


def _family(key: bytes) -> str:
    """A key's first two segments with ids as ``*`` (``art:123:card`` -> ``art:*``)."""
    parts = key.decode(errors="replace").split(":")[:2]
    return ":".join("*" if p.isdigit() else p for p in parts)


def redis_usage(url: str) -> dict[str, Any]:
    """Memory by key family, of one server's database or of every master of a cluster
    (``redis+cluster://h1:p1,h2:p2``)."""
    import redis

    if not url.startswith("redis+cluster://"):
        return _usage([redis.Redis.from_url(url)])
    seeds = [
        h.rsplit(":", 1) for h in url.removeprefix("redis+cluster://").split("/")[0].split(",")
    ]
    first = redis.Redis(host=seeds[0][0], port=int(seeds[0][1]))
    # redis-py parses CLUSTER NODES: {"host:port": {"flags": "myself,master", ...}, ...}
    nodes = first.execute_command("CLUSTER NODES")
    masters = [
        redis.Redis(host=host, port=int(port))
        for address, node in nodes.items()
        if "master" in node["flags"]
        for host, port in [address.split("@")[0].rsplit(":", 1)]
    ]
    return _usage(masters)


def _usage(clients: list[Any]) -> dict[str, Any]:
    total = keys = 0
    prefixes: dict[str, int] = {}
    batch: list[bytes] = []

    def flush(client: Any) -> None:
        nonlocal total
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        for key, used in zip(batch, pipe.execute(), strict=True):
            total += used or 0
            prefix = _family(key)
            prefixes[prefix] = prefixes.get(prefix, 0) + (used or 0)
        batch.clear()

    for client in clients:
        for key in client.scan_iter(count=2000):
            keys += 1
            batch.append(key)
            if len(batch) >= 2000:
                flush(client)
        flush(client)
    top = sorted(prefixes.items(), key=lambda kv: -kv[1])[:8]
    return {
        "keys": keys,
        "mib": round(total / MIB, 1),
        "largest_prefixes_mib": {k: round(v / MIB, 1) for k, v in top},
    }


def mariadb_usage(mysql_url: str, db: str) -> float | None:
    u = urlsplit(mysql_url)
    client = (
        "mariadb"
        if subprocess.run(["which", "mariadb"], capture_output=True).returncode == 0
        else "mysql"
    )
    query = (
        "SELECT ROUND(SUM(data_length + index_length) / 1048576, 1) FROM information_schema.tables "
        f"WHERE table_schema = '{db}'"
    )
    cmd = [client, "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306)]
    cmd += ["-u", u.username or "root", "-N", "-B", "-e", query]
    done = subprocess.run(
        cmd, capture_output=True, text=True, env=dict(os.environ, MYSQL_PWD=u.password or "")
    )
    try:
        return float(done.stdout.strip())
    except ValueError:
        return None


def measure(args: argparse.Namespace) -> None:
    roles = dict(item.split("=", 1) for item in args.role)
    report = {
        "seed_seconds": _number(args.seed_seconds),
        "index_build_seconds": _number(args.index_seconds),
        "peak_memory": {name: peak_memory(int(pid)) for name, pid in roles.items()},
        "redis": redis_usage(args.redis_url),
        "mariadb_mib": mariadb_usage(args.mysql_url, args.db),
    }
    Path(args.measure).write_text(json.dumps(report, indent=2) + "\n")
    sys.stderr.write(json.dumps(report) + "\n")


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "null") else None
    except ValueError:
        return None


def _into(path: str, key: str, value: Any) -> None:
    file = Path(path)
    data = json.loads(file.read_text()) if file.exists() else {}
    data.setdefault("restarts", {})[key] = value
    file.write_text(json.dumps(data, indent=2) + "\n")
    sys.stderr.write(f"[bench] {key}: {json.dumps(value)}\n")


def restarted_rpc(args: argparse.Namespace) -> None:
    """Seconds from the restart to the first non-empty similar list, and whether it is the
    list kept in Redis (the restarted process built nothing)."""
    import asyncio

    import redis

    from toutiao.rpc.client import RecoClient

    kept = [
        int(a)
        for a in redis.Redis.from_url(os.environ["TOUTIAO_REDIS_URL"]).zrevrange(
            f"reco:sim:{args.article}", 0, -1
        )
    ]
    started = args.since or time.time()

    async def probe() -> dict[str, Any]:
        client = RecoClient(args.target, timeout=1.0)
        try:
            while time.time() - started < args.limit:
                found = await client.similar(args.article, 5)
                if found:
                    return {
                        "seconds_to_similar": round(time.time() - started, 2),
                        "from_kept_index": set(found) <= set(kept),
                    }
                await asyncio.sleep(0.1)
        finally:
            await client.close()
        return {"seconds_to_similar": None}

    _into(args.into, "rpc", asyncio.run(probe()))


def restarted_api(args: argparse.Namespace) -> None:
    """Seconds from the restart to the first article detail whose similar articles are the
    recommender's (the kept index), and /readyz's answer then."""
    import redis

    kept = {
        int(a)
        for a in redis.Redis.from_url(os.environ["TOUTIAO_REDIS_URL"]).zrevrange(
            f"reco:sim:{args.article}", 0, -1
        )
    }
    started = args.since or time.time()
    result: dict[str, Any] = {"seconds_to_similar": None}
    url = f"{args.base}/app/v1_0/articles/{args.article}"
    while time.time() - started < args.limit:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                body = json.loads(answer.read())
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
            continue
        similar = {item["art_id"] for item in body.get("data", {}).get("recomments", [])}
        if similar and similar <= kept:
            result = {"seconds_to_similar": round(time.time() - started, 2)}
            break
        time.sleep(0.1)
    try:
        with urllib.request.urlopen(f"{args.base}/readyz", timeout=5) as answer:
            result["readyz"] = answer.status
    except urllib.error.HTTPError as exc:  # 503 names the failing checks
        result["readyz"] = f"{exc.code} {exc.read()[:300].decode(errors='replace')}"
    _into(args.into, "api", result)


# -- the table -------------------------------------------------------------------------------


def _load(folder: Path) -> dict[str, Any]:
    data = json.loads((folder / "latest.json").read_text())
    memory = folder / "memory.json"
    data["memory"] = json.loads(memory.read_text()) if memory.exists() else {}
    return data


def _rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    results = data.get("results", {})
    rows = results.get("wrk") or results.get("python") or []
    return {row["key"]: row for row in rows}


def _own_cpu_ms(row: dict[str, Any]) -> float | None:
    """CPU ms per request of the API and the recommender processes alone (the shared MariaDB
    and Redis servers also serve other work on this machine)."""
    if not row.get("rps"):
        return None
    cores = (row["cpu_pct"].get("api", 0.0) + row["cpu_pct"].get("rpc", 0.0)) / 100
    return 1000 * cores / row["rps"]


def _paced_p99(row: dict[str, Any]) -> float | None:
    """p99 of the paced (fixed-rate) phase; None in reports from before it existed."""
    return (row.get("paced") or {}).get("p99_ms")


def _fmt(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(folders: list[Path]) -> str:
    runs = [(folder, _load(folder)) for folder in folders if (folder / "latest.json").exists()]
    if not runs:
        return "no results"
    sizes = [r["meta"].get("demo_data", "").split()[0].removeprefix("articles=") for _, r in runs]
    lines = []
    # the paced p99 columns only when some report has the paced phase
    paced = any(_paced_p99(row) is not None for _, data in runs for row in _rows(data).values())
    head = f"{'endpoint':<32}" + "".join(
        f" {'cpu ms ' + s:>16} {'stack ms':>9} {'p99 ms':>7} {'sql':>6} {'redis':>6}"
        + (f" {'paced p99':>9}" if paced else "")
        for s in sizes
    )
    if len(runs) > 1:
        head += f" {'x cpu':>6} {'x stack':>7} {'x p99':>6}"
        head += f" {'x paced p99':>11}" if paced else ""
    lines += [head, "-" * len(head)]
    first, last = _rows(runs[0][1]), _rows(runs[-1][1])
    for key, row in first.items():
        cells = ""
        for _, data in runs:
            r = _rows(data).get(key, {})
            cells += (
                f" {_fmt(_own_cpu_ms(r) if r else None):>16}"
                f" {_fmt(r.get('stack_cpu_ms_per_request')):>9} {_fmt(r.get('p99_ms'), 1):>7}"
                f" {_fmt(r.get('sql_per_request'), 1):>6} {_fmt(r.get('redis_per_request'), 1):>6}"
            )
            cells += f" {_fmt(_paced_p99(r), 1):>9}" if paced else ""
        if len(runs) > 1 and key in last:
            a, b = _own_cpu_ms(row), _own_cpu_ms(last[key])
            sa, sb = row.get("stack_cpu_ms_per_request"), last[key].get("stack_cpu_ms_per_request")
            pa, pb = row.get("p99_ms"), last[key].get("p99_ms")
            cells += (
                f" {_fmt(b / a if a and b else None):>6} {_fmt(sb / sa if sa and sb else None):>7}"
                f" {_fmt(pb / pa if pa and pb else None):>6}"
            )
            if paced:
                qa, qb = _paced_p99(row), _paced_p99(last[key])
                cells += f" {_fmt(qb / qa if qa and qb else None):>11}"
        lines.append(f"{row['label']:<32}{cells}")
    lines.append("")
    for (folder, data), size in zip(runs, sizes, strict=True):
        mem = data["memory"]
        peaks = ", ".join(
            f"{name} {p['largest_mib']} MiB (x{p['processes']}, {p['sum_mib']} MiB in all)"
            for name, p in mem.get("peak_memory", {}).items()
        )
        lines.append(f"{size} articles ({folder}):")
        lines.append(f"  peak RSS: {peaks or '-'}")
        redis = mem.get("redis", {})
        lines.append(
            f"  Redis: {redis.get('mib')} MiB in {redis.get('keys')} keys "
            f"(largest: {redis.get('largest_prefixes_mib')}); MariaDB: {mem.get('mariadb_mib')} MiB"
        )
        lines.append(
            f"  seed {mem.get('seed_seconds')} s, similar index build {mem.get('index_build_seconds')} s,"
            f" restarts: {json.dumps(mem.get('restarts', {}))}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="*", type=Path)
    p.add_argument("--measure", help="write the memory and storage figures to this file")
    p.add_argument("--restarted", choices=["rpc", "api"])
    p.add_argument("--db")
    p.add_argument("--redis-url")
    p.add_argument("--mysql-url")
    p.add_argument("--seed-seconds")
    p.add_argument("--index-seconds")
    p.add_argument("--role", action="append", default=[], help="NAME=PID")
    p.add_argument("--target", help="the recommender's host:port")
    p.add_argument("--base", help="the API's base URL")
    p.add_argument("--article", type=int)
    p.add_argument("--since", type=float, help="epoch seconds the restart began")
    p.add_argument("--limit", type=float, default=120.0)
    p.add_argument("--into", help="the memory file to add the restart figures to")
    args = p.parse_args(argv)
    if args.measure:
        measure(args)
    elif args.restarted == "rpc":
        restarted_rpc(args)
    elif args.restarted == "api":
        restarted_api(args)
    else:
        sys.stdout.write(table(args.folders) + "\n")


if __name__ == "__main__":
    main()
