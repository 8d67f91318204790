"""Notification delivery latency across processes: an action on the API to the event at a
Socket.IO client connected to a separate IM process, fanned out through the message queue.

Run by bench/im.sh; usable on its own against a stack you started:

    python bench/im.py --api http://127.0.0.1:8000 --im http://127.0.0.1:8001 \\
        --mobiles 13911111111,13922222222,...

Users are logged in through the API and split into recipients (each connected to the IM
node with its token, the way the app connects) and actors. A *lane* is one actor and one
recipient; each lane repeats follow (E18), like (E42) and comment (E48) aimed at its
recipient (the like and the comment on one of the recipient's articles). Before each
follow or like the previous one is withdrawn (unmeasured), so each action is new and
notifies. Latency = from sending the HTTP request to the event arriving at the client,
matched by event name, actor and article. Lanes run one at a time (``sequential``), then
each width of ``--concurrency`` (default 4 and 16) at once; each mode sends ``--actions``
actions.

The event's ``timestamp`` (set by the API when it publishes, after the commit) splits the
latency into *request to publish* and *publish to client* (same machine, same clock,
millisecond resolution).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio
from load import (
    DEMO_CODE,
    LOOPBACK,
    Api,
    CpuMeter,
    emit,
    excerpt,
    git_head,
    run_cli,
    write_report,
)

HERE = Path(__file__).resolve().parent
EVENTS = {"follow": "following notify", "like": "liking notify", "comment": "comment notify"}
KINDS = tuple(EVENTS)


@dataclass
class User:
    mobile: str
    token: str
    user_id: int
    article_id: int | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Inbox:
    """A recipient's Socket.IO connection; each awaited event resolves a future keyed by
    (event, actor id, article id)."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.sio = socketio.AsyncClient(reconnection=False)
        self.waiting: dict[tuple[str, int, int | None], asyncio.Future[tuple[float, Any]]] = {}
        self.unmatched: Counter[str] = Counter()
        self.sio.on("*", self._event)

    async def _event(self, event: str, data: Any = None) -> None:
        arrived = time.perf_counter()
        wall = time.time()
        if not isinstance(data, dict):
            self.unmatched[event] += 1
            return
        key = (event, int(data.get("user_id") or 0), data.get("art_id"))
        future = self.waiting.pop(key, None)
        if future is None or future.done():
            self.unmatched[event] += 1
        else:
            future.set_result((arrived, {**data, "_received_wall": wall}))

    def expect(self, event: str, actor: int, article: int | None) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[(event, actor, article)] = future
        return future

    async def connect(self, url: str) -> None:
        await self.sio.connect(
            f"{url}?token={self.user.token}", transports=["websocket"], wait_timeout=10
        )


@dataclass
class Sample:
    kind: str
    mode: str
    http_ms: float
    status: int
    latency_ms: float | None = None  # request sent -> event received (None: lost)
    to_publish_ms: float | None = None  # request sent -> the API's publish timestamp
    publish_to_client_ms: float | None = None


@dataclass
class Lane:
    actor: User
    recipient: User
    inbox: Inbox
    samples: list[Sample] = field(default_factory=list)


async def login(client: Api, mobile: str) -> User | None:
    response = await client.post(
        "/app/v1_0/authorizations", json={"mobile": mobile, "code": DEMO_CODE}
    )
    if response.status_code != 201:
        emit(f"  login {mobile}: {excerpt(response)}", err=True)
        return None
    token = response.json()["data"]["token"]
    me = await client.get("/app/v1_0/user", headers={"Authorization": f"Bearer {token}"})
    user = User(mobile, token, int(me.json()["data"]["id"]))
    articles = await client.get(f"/app/v1_0/users/{user.user_id}/articles?page=1&per_page=1")
    if articles.status_code == 200 and articles.json()["data"]["results"]:
        user.article_id = int(articles.json()["data"]["results"][0]["art_id"])
    return user


async def withdraw(client: Api, lane: Lane, kind: str) -> None:
    """Undo the previous follow / like so the next one is new (and notifies)."""
    r, a = lane.recipient, lane.actor
    path = (
        f"/app/v1_0/user/followings/{r.user_id}"
        if kind == "follow"
        else f"/app/v1_0/article/likings/{r.article_id}"
    )
    response = await client.call("DELETE", path, headers=a.auth)
    if response.status_code != 204:
        raise RuntimeError(f"DELETE {path}: {excerpt(response)}")


async def act(client: Api, lane: Lane, kind: str, mode: str, patience: float, seq: int) -> Sample:
    r, a = lane.recipient, lane.actor
    if kind in ("follow", "like"):
        await withdraw(client, lane, kind)
    if kind == "follow":
        path, body, article = "/app/v1_0/user/followings", {"target": r.user_id}, None
    elif kind == "like":
        path, body, article = "/app/v1_0/article/likings", {"target": r.article_id}, r.article_id
    else:
        body = {"target": r.article_id, "content": f"基准测试评论 #{seq}"}
        path, article = "/app/v1_0/comments", r.article_id
    future = lane.inbox.expect(EVENTS[kind], a.user_id, article)
    sent_wall, sent = time.time(), time.perf_counter()
    response = await client.post(path, json=body, headers=a.auth)
    sample = Sample(kind, mode, 1000 * (time.perf_counter() - sent), response.status_code)
    if response.status_code != 201:
        lane.inbox.waiting.pop((EVENTS[kind], a.user_id, article), None)
        emit(f"  {kind}: {excerpt(response)}", err=True)
        return sample
    try:
        arrived, data = await asyncio.wait_for(future, patience)
    except TimeoutError:
        lane.inbox.waiting.pop((EVENTS[kind], a.user_id, article), None)
        return sample
    sample.latency_ms = 1000 * (arrived - sent)
    if isinstance(data.get("timestamp"), int):
        sample.to_publish_ms = data["timestamp"] - 1000 * sent_wall
        sample.publish_to_client_ms = 1000 * data["_received_wall"] - data["timestamp"]
    return sample


async def run_mode(
    client: Api, lanes: list[Lane], mode: str, actions: int, patience: float
) -> list[Sample]:
    """``actions`` actions spread over ``lanes`` (each lane sequential, lanes in parallel),
    cycling follow / like / comment."""
    per_lane = [actions // len(lanes) + (i < actions % len(lanes)) for i in range(len(lanes))]
    counter = itertools.count()

    async def drive(lane: Lane, count: int, offset: int) -> list[Sample]:
        out = []
        for i in range(count):
            kind = KINDS[(i + offset) % len(KINDS)]
            out.append(await act(client, lane, kind, mode, patience, next(counter)))
        return out

    parts = await asyncio.gather(
        *(drive(lane, n, i) for i, (lane, n) in enumerate(zip(lanes, per_lane, strict=True)))
    )
    return [s for part in parts for s in part]


async def until_connected(client: Api, inboxes: list[Inbox], within: float) -> float:
    """E08 test notifications to each recipient until one arrives at every inbox (the IM
    node's queue consumer is bound); returns the seconds it took."""
    started = time.monotonic()
    pending = list(inboxes)
    while pending:
        if time.monotonic() - started > within:
            raise RuntimeError(f"no test notification reached {len(pending)} clients")
        before = [box.unmatched["following notify"] for box in pending]
        for box in pending:
            await client.get("/app/imtest/f", headers=box.user.auth)
        await asyncio.sleep(0.5)
        pending = [
            box
            for box, seen in zip(pending, before, strict=True)
            if box.unmatched["following notify"] == seen
        ]
    for box in inboxes:
        box.unmatched.clear()
    return time.monotonic() - started


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 2)


def summary(samples: list[Sample]) -> dict[str, Any]:
    delivered = [s.latency_ms for s in samples if s.latency_ms is not None]
    publish = [s.to_publish_ms for s in samples if s.to_publish_ms is not None]
    transit = [s.publish_to_client_ms for s in samples if s.publish_to_client_ms is not None]
    return {
        "actions": len(samples),
        "delivered": len(delivered),
        "lost": sum(1 for s in samples if s.status == 201 and s.latency_ms is None),
        "http_errors": sum(1 for s in samples if s.status != 201),
        "p50_ms": pct(delivered, 50),
        "p90_ms": pct(delivered, 90),
        "p99_ms": pct(delivered, 99),
        "max_ms": round(max(delivered), 2) if delivered else None,
        "http_p50_ms": pct([s.http_ms for s in samples], 50),
        "http_p99_ms": pct([s.http_ms for s in samples], 99),
        "to_publish_p50_ms": pct(publish, 50),
        "publish_to_client_p50_ms": pct(transit, 50),
        "publish_to_client_p99_ms": pct(transit, 99),
    }


def table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    cols = [
        ("actions", "n"), ("delivered", "ok"), ("lost", "lost"), ("http_errors", "err"),
        ("p50_ms", "p50 ms"), ("p90_ms", "p90 ms"), ("p99_ms", "p99 ms"), ("max_ms", "max ms"),
        ("http_p50_ms", "http p50"), ("http_p99_ms", "http p99"),
        ("publish_to_client_p50_ms", "mq p50"), ("publish_to_client_p99_ms", "mq p99"),
    ]  # fmt: skip
    head = f"{'mode / action':<28}" + "".join(f"{title:>10}" for _, title in cols)
    lines = [head, "-" * len(head)]
    for label, row in rows:
        cells = "".join(
            f"{'-' if row[key] is None else (f'{row[key]:.1f}' if isinstance(row[key], float) else row[key]):>10}"
            for key, _ in cols
        )
        lines.append(f"{label:<28}{cells}")
    return "\n".join(lines)


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--api", default="http://127.0.0.1:8000", help="API base URL (loopback)")
    p.add_argument("--im", default="http://127.0.0.1:8001", help="IM node URL (loopback)")
    p.add_argument("--mobiles", required=True, help="comma-separated users (authors) to log in")
    p.add_argument("--actions", type=int, default=300, help="actions per mode")
    p.add_argument(
        "--concurrency", default="4,16", help="lanes of the concurrent modes, comma-separated"
    )
    p.add_argument("--timeout", type=float, default=5.0, help="s before an event counts as lost")
    p.add_argument("--api-pid", type=int, help="gunicorn master pid (CPU accounting)")
    p.add_argument("--im-pid", type=int, help="toutiao im pid (CPU accounting)")
    p.add_argument("--redis-port", type=int, default=6379)
    p.add_argument("--meta", action="append", default=[], help="KEY=VALUE recorded in the JSON")
    p.add_argument("--out", default=str(HERE / "results" / "im.json"))
    args = p.parse_args(argv)
    args.mobiles = [m for m in args.mobiles.split(",") if m]
    args.widths = sorted({int(w) for w in args.concurrency.split(",") if w.strip()})
    args.concurrency = max(args.widths, default=1)
    # Login is rate-limited per address (LOGIN_RATE_PER_IP, 60/minute): log in what is needed.
    args.mobiles = args.mobiles[: 2 * args.concurrency + 8]
    for url in (args.api, args.im):
        if urlsplit(url).hostname not in LOOPBACK:
            p.error(f"{url}: only loopback addresses")
    if not 1 <= args.actions <= 20_000 or not all(1 <= w <= 25 for w in args.widths):
        p.error("bounds: 1 <= --actions <= 20000, 1 <= each --concurrency <= 25")
    if len(args.mobiles) < 2 * args.concurrency:
        p.error(f"--concurrency {args.concurrency} needs {2 * args.concurrency} --mobiles")
    return args


async def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    api, im = args.api.rstrip("/"), args.im.rstrip("/")
    connector = aiohttp.TCPConnector(limit=2 * args.concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=15.0)
    ) as session:
        client = Api(session, api)
        users = [u for u in await asyncio.gather(*(login(client, m) for m in args.mobiles)) if u]
        authors = [u for u in users if u.article_id is not None]
        half = min(len(users) // 2, args.concurrency)
        recipients = authors[:half]
        actors = [u for u in users if u not in recipients][:half]
        if len(recipients) < args.concurrency or len(actors) < args.concurrency:
            emit(f"only {len(recipients)} recipients with articles, {len(actors)} actors", err=True)
            return 2
        lanes = [Lane(a, r, Inbox(r)) for a, r in zip(actors, recipients, strict=True)]
        try:
            await asyncio.gather(*(lane.inbox.connect(im) for lane in lanes))
            bound = await until_connected(client, [lane.inbox for lane in lanes], 30.0)
            emit(
                f"{len(lanes)} clients connected to {im}; first test event after {bound:.1f} s",
                err=True,
            )
            # Unmeasured: one action of each kind per lane (first connections, caches).
            await run_mode(client, lanes, "warm-up", 3 * len(lanes), args.timeout)
            results: dict[str, list[Sample]] = {}
            usage: dict[str, dict[str, float]] = {}
            # CPU of the API (gunicorn tree), the IM node (reported as "im"), MariaDB, Redis.
            meter = CpuMeter(args.api_pid, args.im_pid, args.redis_port)
            modes = [("sequential", 1)] + [(f"{w} concurrent", w) for w in args.widths if w > 1]
            for mode, width in modes:
                emit(f"  {mode}: {args.actions} actions", err=True)
                before = meter.snapshot()
                results[mode] = await run_mode(
                    client, lanes[:width], mode, args.actions, args.timeout
                )
                after = meter.snapshot()
                usage[mode] = CpuMeter.usage(before, after, "self")
                usage[mode]["seconds"] = round(after["wall"] - before["wall"], 2)
                usage[mode]["im"] = usage[mode].pop("rpc")
                emit(f"    {usage[mode]['seconds']:.1f} s, cpu %: {usage[mode]}", err=True)
            unmatched = sum((lane.inbox.unmatched for lane in lanes), Counter())
        finally:
            await asyncio.gather(
                *(lane.inbox.sio.disconnect() for lane in lanes), return_exceptions=True
            )
    rows: list[tuple[str, dict[str, Any]]] = []
    by_key: dict[str, dict[str, Any]] = {}
    for mode, samples in results.items():
        rows.append((f"{mode}, all", {**summary(samples), "cpu_pct": usage[mode]}))
        by_key[f"{mode}, all"] = rows[-1][1]
        for kind in KINDS:
            rows.append((f"  {kind}", summary([s for s in samples if s.kind == kind])))
            by_key[f"{mode}, {kind}"] = rows[-1][1]
    emit(
        f"\n== notification delivery: API request -> Socket.IO client on a separate IM "
        f"process, via the message queue ({args.actions} actions per mode) =="
    )
    emit(table(rows))
    emit(f"unexpected events: {dict(unmatched) or 'none'}")
    emit("CPU, % of one core (2 cores = 200): api / im / mariadb / redis / driver / other")
    for mode, pct in usage.items():
        parts = "/".join(
            f"{pct.get(k, 0):.0f}" for k in ("api", "im", "mariadb", "redis", "loadgen", "other")
        )
        per = 1000 * sum(pct.get(k, 0) for k in ("api", "im")) / 100 * pct["seconds"]
        per /= max(len(results[mode]), 1)
        emit(
            f"  {mode:<16} {parts}   (api+im: {per:.1f} ms of CPU per action, withdrawals included)"
        )
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "api": api,
        "im": im,
        "settings": {
            "actions": args.actions,
            "concurrency": args.widths,
            "timeout_s": args.timeout,
            "lanes": len(lanes),
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "git": git_head(),
        "meta": dict(item.split("=", 1) for item in args.meta if "=" in item),
        "unexpected_events": dict(unmatched),
        "results": by_key,
    }
    out = write_report(Path(args.out), report)
    emit(f"\nwritten: {out}")
    failed = any(row["lost"] or row["http_errors"] for _, row in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    run_cli(main)
