"""The recommender's refills, timed in-process: readers scrolling deep into channels.

Each reader pulls ``--pulls`` batches of 10 on each channel; a pull takes the head of the
reader's queue and records it as the API does, and a queue left with fewer than
``waiting.REFILL_BELOW`` batches is refilled first (``Recommender.refill``), timed in CPU
time. Prints the CPU ms per refill and the articles it added, by how deep the reader was.

    .venv/bin/python bench/refill.py --database-url mysql+asyncmy://root@127.0.0.1:3306/toutiao_bench \\
        --redis-url redis://127.0.0.1:6379/13 --readers 2129019350911299658,anon:bench-1 \\
        --channels 16,0,5 --pulls 60

The Redis database named is flushed first (use one of its own: the bench's stack uses 14);
the MariaDB database is only read (a bench database: ``bench/run.sh`` builds one). The
Redis database holds no popularity, keywords or similar-articles index, so these refills
rank fewer candidates than the bench's stack does: compare runs of this script, not its
figures with the bench's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from typing import Any

from toutiao.config import Settings
from toutiao.recommend import keys, waiting
from toutiao.recommend.engine import Recommender
from toutiao.runtime import build_runtime

COUNT = 10
DEPTHS = ((0, 1), (1, 20), (20, 40), (40, 80), (80, 10**9))


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url, DATA_DIR=data)
        runtime = build_runtime(settings, name="bench-refill")
        try:
            await runtime.store.flushdb()
            recommender = Recommender(runtime.db, runtime.store)
            timed = await _scroll(recommender, runtime.store, args)
            await recommender.close()
        finally:
            await runtime.close()
    _report(timed)


async def _scroll(
    recommender: Recommender, redis: Any, args: argparse.Namespace
) -> list[tuple[int, float, int]]:
    """(pull number, CPU ms, articles added) of every refill."""
    timed = []
    stamp = int(time.time() * 1000)
    for uid in args.readers.split(","):
        for channel in (int(c) for c in args.channels.split(",")):
            for pull in range(args.pulls):
                queue = await _queue(redis, uid, channel)
                if len(queue) < waiting.REFILL_BELOW * COUNT:
                    started = time.process_time()
                    added = await recommender.refill(uid, channel, COUNT)
                    timed.append((pull, (time.process_time() - started) * 1000, added))
                    queue = await _queue(redis, uid, channel)
                batch = queue[:COUNT]
                stamp += 1000
                async with redis.pipeline(transaction=False) as pipe:
                    waiting.queue_served(
                        pipe,
                        uid,
                        channel,
                        stamp,
                        batch,
                        now_ms=time.time() * 1000,
                        unqueue={channel: [a for a, _ in batch]},
                    )
                    await pipe.execute()
    return timed


async def _queue(redis: Any, uid: str, channel: int) -> waiting.Pairs:
    raw = await redis.zrange(keys.waiting(uid, channel), 0, -1, withscores=True)
    return waiting.parse_waiting(raw)


def _report(timed: list[tuple[int, float, int]]) -> None:
    lines = [f"{'pulls':>12} {'refills':>8} {'cpu ms median':>14} {'mean':>7} {'added':>6}"]
    for low, high in DEPTHS:
        chosen = [(ms, added) for pull, ms, added in timed if low <= pull < high]
        if chosen:
            span = f"{low}-{high - 1}" if high < 10**9 else f"{low}+"
            costs = [ms for ms, _ in chosen]
            added = statistics.mean(a for _, a in chosen)
            lines.append(
                f"{span:>12} {len(chosen):>8} {statistics.median(costs):>14.2f}"
                f" {statistics.mean(costs):>7.2f} {added:>6.0f}"
            )
    sys.stdout.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="mysql+asyncmy://root@127.0.0.1:3306/toutiao_bench"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--readers", default="anon:bench-refill", help="comma-separated uids")
    parser.add_argument("--channels", default="0", help="comma-separated channel ids")
    parser.add_argument("--pulls", type=int, default=60, help="batches pulled per channel")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
