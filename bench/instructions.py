"""Instructions per request, counted in one process: the app called as ASGI (no HTTP server,
no load generator), against the bench's MariaDB, Redis and ``toutiao rpc``, under
``valgrind --tool=callgrind``. Run by ``bench/instructions.sh``, which reads the counts.

Where ``run.sh`` measures requests per second on a shared 2-core machine (the server, the
load generator and the machine's own noise in one figure), this counts what the API process
executes for each request, the same on every run of the same code: a change to one page is
seen to the percent. Redis, MariaDB and the recommender are other processes, not counted.

Each phase asks callgrind to write its counts before and after (``callgrind_control -d``,
which the process handles at its next scheduling point: the pauses around each phase give it
the time); an idle phase of the same pause measures what the background tasks run meanwhile,
taken off every other phase.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from toutiao.main import create_app

CHANNELS = 28  # 0 (recommended) and the demo's 27 channels
DEVICES = 32


def scope(path: str, query: str = "", authorization: str = "") -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench-instructions")]
    if authorization:
        headers.append((b"authorization", authorization.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


class Caller:
    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app, self.state = app, state

    async def __call__(self, request: dict[str, Any], body: bytes = b"") -> bytes:
        request = {**request, "state": dict(self.state)}
        if body:
            request["method"] = "POST"
            request["headers"] = [*request["headers"], (b"content-type", b"application/json")]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(request, receive, send)
        status = sent[0]["status"]
        answer = b"".join(m.get("body", b"") for m in sent[1:])
        if status not in (200, 201):
            raise SystemExit(f"{request['path']}: {status} {answer[:300]!r}")
        return answer


def feed(authorization: Callable[[int], str], *, fresh: bool = True) -> Callable[[int], Any]:
    fixed = int(time.time() * 1000)

    def make(i: int) -> dict[str, Any]:
        channel = (i // DEVICES) % CHANNELS
        stamp = int(time.time() * 1000) if fresh else fixed
        query = f"channel_id={channel}&timestamp={stamp}&with_top={1 if fresh else 0}"
        return scope("/app/v1_1/articles", query, authorization(i))

    return make


async def reading_phases(call: Caller, authorization: str) -> dict[str, Callable[[int], Any]]:
    """Article detail (anonymous, logged in) and comment lists, over articles of the
    recommended channel's feed that have comments."""
    page = orjson.loads(
        await call(
            scope(
                "/app/v1_1/articles",
                f"channel_id=0&timestamp={int(time.time() * 1000)}&with_top=0",
            )
        )
    )
    ids = [item["art_id"] for item in page["data"]["results"] if item["comm_count"]]
    if not ids:
        raise SystemExit("no article with comments in the first feed page")
    return {
        "detail, anonymous": lambda i: scope(f"/app/v1_0/articles/{ids[i % len(ids)]}"),
        "detail, logged in": lambda i: scope(
            f"/app/v1_0/articles/{ids[i % len(ids)]}", authorization=authorization
        ),
        "comments": lambda i: scope(
            "/app/v1_0/comments", f"type=a&source={ids[i % len(ids)]}&limit=10"
        ),
    }


def dump(label: str) -> None:
    """Ask callgrind to write the counts so far (a no-op outside valgrind)."""
    subprocess.Popen(
        ["callgrind_control", "-d", label, str(os.getpid())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def profile(
    call: Caller, phases: dict[str, Callable[[int], Any]], name: str, requests: int
) -> None:
    """One phase's requests under cProfile: the functions by their own time, then by time
    inside them (what a change to one of them could save, per request)."""
    import cProfile
    import pstats

    label = next((k for k in phases if name in k), None)
    if label is None:
        raise SystemExit(f"--profile: no phase named {name!r} (one of {', '.join(phases)})")
    make = phases[label]
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(requests):
        await call(make(i))
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    if os.environ.get("BENCH_PROFILE_OUT"):  # the raw stats, for pstats or snakeviz
        stats.dump_stats(os.environ["BENCH_PROFILE_OUT"])
    print(f"{label}: {requests} requests under cProfile")
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(80)
    if os.environ.get("BENCH_PROFILE_CALLERS"):
        stats.print_callers(os.environ["BENCH_PROFILE_CALLERS"])


async def timed(call: Caller, phases: dict[str, Callable[[int], Any]], requests: int) -> None:
    """Each phase's CPU time per request of this process (``time.process_time``: the event
    loop's own waking from its idle waits included, which a loaded server rarely has), the
    best of three passes: a comparison of two commits in seconds, where callgrind takes
    minutes. Wall time beside it (Redis's and the recommender's answers waited for)."""
    print(f"{'phase':24} {'cpu us/request':>15} {'wall us/request':>16}")
    for label, make in phases.items():
        cpu = wall = float("inf")
        for _ in range(3):
            started, began = time.process_time(), time.perf_counter()
            for i in range(requests):
                await call(make(i))
            cpu = min(cpu, (time.process_time() - started) / requests * 1e6)
            wall = min(wall, (time.perf_counter() - began) / requests * 1e6)
        print(f"{label:24} {cpu:>15,.1f} {wall:>16,.1f}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200, help="per phase")
    parser.add_argument("--pause", type=float, default=10.0, help="seconds around each dump")
    parser.add_argument("--mobile", default="13911111111", help="a demo user to log in as")
    parser.add_argument(
        "--profile",
        metavar="PHASE",
        help="instead of counting, run one phase (floor, anonymous, logged, back, detail, "
        "comments: the first phase whose name holds it) under "
        "cProfile after the warm-up and print where its time went",
    )
    parser.add_argument(
        "--time",
        action="store_true",
        help="instead of counting, time each phase's CPU per request (no valgrind)",
    )
    args = parser.parse_args()
    app = create_app()
    async with app.router.lifespan_context(app) as state:
        call = Caller(app, dict(state or {}))
        login = await call(
            scope("/app/v1_0/authorizations"),
            body=f'{{"mobile":"{args.mobile}","code":"246810"}}'.encode(),
        )
        token = login.split(b'"token":"')[1].split(b'"')[0].decode()
        phases: dict[str, Callable[[int], Any]] = {
            "floor": lambda i: scope("/app/"),
            "feed, anonymous": feed(lambda i: f"Anony bench-instructions-{i % DEVICES}"),
            "feed, logged in": feed(lambda i: f"Bearer {token}"),
            "feed, scrolling back": feed(
                lambda i: f"Anony bench-replay-{i % DEVICES}", fresh=False
            ),
            **await reading_phases(call, f"Bearer {token}"),
        }
        # Warm, on the very requests measured: the first pass fills each queue (the
        # recommender inline) and records each scrolled-back batch, the second serves from
        # the queues; every card and author is in L1, whatever a path builds on first use built.
        # The reading phases first, measured last: the feeds are counted within the queues'
        # two minutes (waiting.MAX_AGE), as they were before those phases were added.
        reading = [k for k in phases if not k.startswith(("floor", "feed"))]
        for make in [phases[k] for k in reading] + [
            v for k, v in phases.items() if k not in reading
        ]:
            for _ in range(2):
                for i in range(args.requests):
                    await call(make(i))
        if args.profile:
            await profile(call, phases, args.profile, args.requests)
            return
        if args.time:
            await timed(call, phases, args.requests)
            return
        await asyncio.sleep(args.pause)
        for label, make in [("idle", None), *phases.items()]:
            dump(f"before {label}")
            await asyncio.sleep(args.pause)
            for i in range(args.requests if make else 0):
                await call(make(i))
            dump(f"after {label}")
            await asyncio.sleep(args.pause)
            sys.stderr.write(f"phase done: {label}\n")


if __name__ == "__main__":
    asyncio.run(main())
