"""A 3-master Redis Cluster for the bench, from the ``redis-server`` binary: started, its
``redis+cluster://`` URL written to ``DIR/url``, kept until SIGTERM, then stopped.

    python bench/redis_cluster.py DIR [--masters 3]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.redis_procs import RedisFarm  # one copy of the cluster start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--masters", type=int, default=3)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    farm = RedisFarm(args.dir)
    try:
        ports = farm.cluster(masters=args.masters)
        url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
        (args.dir / "url").write_text(url + "\n")
        stop.wait()
    finally:
        farm.stop()


if __name__ == "__main__":
    main()
