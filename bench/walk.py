"""A new reader's visit to the feed, over HTTP, checked: the walk-through the feed's promises
are judged by.

For each kind of reader (an ``Anony`` device never seen before, a user who registers now,
a client that sends no header) and each channel asked for: open the channel (``with_top=1``),
pull to refresh ``--pulls`` times, then scroll back with each ``pre_timestamp`` until it
is 0. Checked, per reader and channel:

- every pull gets a full batch (10 articles) while the channel has articles left;
- no article is shown twice before the reader has seen ``--min-fresh`` articles of the
  channel: not within a channel's pulls, and not in another channel of the same reader (an
  article waits in its channel's queue and the recommended one's, and leaves both when
  served). A channel with nothing unseen left repeats, but never the batch just shown;
- a pull's ``pre_timestamp`` is the time stamp of the pull before it (0 for the first);
- pinned articles come only with ``with_top=1``, first, with ``is_top`` 1;
- scrolling back replays exactly the batches shown, newest first, and ends on 0.

Prints a table (pulls, articles, p50 and worst latency per reader and channel) and every
broken promise; exit status 1 when there is one. ``bench/run.sh`` runs it after the load;
it also drives any stack given with ``--base`` (loopback only), e.g. the one ``toutiao
serve`` starts: ``python bench/walk.py --base http://127.0.0.1:8000``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEMO_CODE = "246810"
BATCH = 10


@dataclass
class Walk:
    reader: str
    channel: int
    pulls: int = 0
    shown: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    replayed: int = 0
    fresh: int | None = None  # articles shown before the first one shown again (None: none)


class Client:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, Any, float]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        for name, value in headers.items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        elapsed = (time.perf_counter() - started) * 1000
        return status, json.loads(raw) if raw else None, elapsed

    def feed(
        self, headers: dict[str, str], channel: int, timestamp: int, with_top: int
    ) -> tuple[int, Any, float]:
        path = f"/app/v1_1/articles?channel_id={channel}&timestamp={timestamp}&with_top={with_top}"
        return self.call("GET", path, headers)


def new_user(client: Client) -> dict[str, str]:
    """Registers a mobile number never used before (demo mode accepts the fixed code)."""
    for _ in range(20):
        mobile = f"199{random.randrange(10**8):08d}"
        status, body, _ = client.call(
            "POST", "/app/v1_0/authorizations", {}, {"mobile": mobile, "code": DEMO_CODE}
        )
        if status == 201:
            return {"Authorization": f"Bearer {body['data']['token']}"}
    raise SystemExit("walk: could not register a new user (is the stack in demo mode?)")


def visit(
    client: Client,
    reader: str,
    headers: dict[str, str],
    channel: int,
    pulls: int,
    seen_elsewhere: dict[int, int],
    min_fresh: int,
) -> Walk:
    walk = Walk(reader, channel)
    batches: list[tuple[int, list[int]]] = []  # (time stamp, ids), oldest first
    previous = 0
    for pull in range(pulls):
        stamp = max(int(time.time() * 1000), previous + 1)
        status, body, ms = client.feed(headers, channel, stamp, 1 if pull == 0 else 0)
        walk.latencies.append(ms)
        if status != 200:
            walk.problems.append(f"pull {pull + 1}: HTTP {status} {body}")
            break
        walk.pulls += 1
        items = body["data"]["results"]
        tops = [i for i in items if i["is_top"]]
        if pull and tops:
            walk.problems.append(f"pull {pull + 1}: pinned articles with with_top=0")
        if any(i["is_top"] for i in items[len(tops) :]):
            walk.problems.append(f"pull {pull + 1}: a pinned article after an unpinned one")
        ids = [i["art_id"] for i in items if not i["is_top"]]
        if body["data"]["pre_timestamp"] != previous:
            walk.problems.append(
                f"pull {pull + 1}: pre_timestamp {body['data']['pre_timestamp']}, the pull "
                f"before was at {previous}"
            )
        if len(ids) < BATCH:
            walk.problems.append(f"pull {pull + 1}: {len(ids)} articles, not {BATCH}")
        if batches and ids == batches[-1][1]:
            walk.problems.append(f"pull {pull + 1}: the same batch as the pull before")
        again = [a for a in ids if a in walk.shown or seen_elsewhere.get(a, channel) != channel]
        if again and walk.fresh is None:
            # the first article shown again: the channel has none left this reader has not
            # seen (a small channel), or a promise is broken; --min-fresh tells them apart
            walk.fresh = len(walk.shown) + ids.index(again[0])
            if walk.fresh < min_fresh:
                walk.problems.append(
                    f"pull {pull + 1}: shown again after only {walk.fresh} articles: {again}"
                )
        for a in ids:
            seen_elsewhere.setdefault(a, channel)
        walk.shown += ids
        batches.append((stamp, ids))
        previous = stamp
    # scroll back: each pre_timestamp replays the batch before, newest first
    cursor = batches[-1][0] if batches else 0
    expected = list(reversed(batches))
    for index, (_, ids) in enumerate(expected):
        status, body, ms = client.feed(headers, channel, cursor, 0)
        walk.latencies.append(ms)
        if status != 200:
            walk.problems.append(f"scroll back to {cursor}: HTTP {status}")
            break
        got = [i["art_id"] for i in body["data"]["results"]]
        if got != ids:
            walk.problems.append(f"scroll back to {cursor}: {got}, shown then: {ids}")
            break
        walk.replayed += 1
        older = expected[index + 1][0] if index + 1 < len(expected) else 0
        if body["data"]["pre_timestamp"] != older:
            walk.problems.append(
                f"scroll back to {cursor}: pre_timestamp {body['data']['pre_timestamp']}, "
                f"expected {older}"
            )
            break
        cursor = older
    return walk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--pulls", type=int, default=12)
    parser.add_argument("--channels", default="", help="comma-separated; default 0 and two more")
    parser.add_argument(
        "--min-fresh",
        type=int,
        default=80,
        help="articles a reader must see in a channel before any is shown again (a channel "
        "with fewer approved articles fails: pick larger ones with --channels)",
    )
    parser.add_argument("--out", help="write the walks as JSON")
    args = parser.parse_args()
    if urlsplit(args.base).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("walk: --base must be a loopback address")
    client = Client(args.base)
    status, body, _ = client.call("GET", "/app/v1_0/channels", {})
    if status != 200:
        raise SystemExit(f"walk: the channel list answered {status}")
    known = [c["id"] for c in body["data"]["channels"] if c["id"]]
    channels = (
        [int(c) for c in args.channels.split(",")]
        if args.channels
        else [0, *random.Random(7).sample(known, min(2, len(known)))]
    )
    device = f"walk-{random.randrange(16**8):08x}"
    readers = [
        ("anonymous (Anony)", {"Authorization": f"Anony {device}"}),
        ("new user (Bearer)", new_user(client)),
        ("no header", {"User-Agent": f"walk/{device}"}),
    ]
    walks = []
    for reader, headers in readers:
        seen: dict[int, int] = {}
        for channel in channels:
            walks.append(visit(client, reader, headers, channel, args.pulls, seen, args.min_fresh))

    print(
        f"{'reader':20} {'channel':>7} {'pulls':>5} {'articles':>8} {'unseen':>7} "
        f"{'replayed':>8} {'p50 ms':>7} {'max ms':>7}  problems"
    )
    for w in walks:
        unseen = "all" if w.fresh is None else str(w.fresh)
        print(
            f"{w.reader:20} {w.channel:>7} {w.pulls:>5} {len(w.shown):>8} {unseen:>7} "
            f"{w.replayed:>8} {statistics.median(w.latencies):>7.1f} "
            f"{max(w.latencies):>7.1f}  {len(w.problems)}"
        )
    print("(unseen: articles shown before the first one shown again)")
    problems = [(w, p) for w in walks for p in w.problems]
    for w, p in problems:
        print(f"  {w.reader}, channel {w.channel}: {p}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump([w.__dict__ for w in walks], f, indent=1)
    print("walk: every promise held" if not problems else f"walk: {len(problems)} broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
