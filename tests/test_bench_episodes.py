"""bench/episodes.py: slow answers grouped into episodes, each explained by what shared the
CPUs then (perf's samples, given here as ``perf script`` prints them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench import episodes

T0 = 1_800_000_000.0


def _perf(rows: list[tuple[str, int, float]]) -> str:
    """``perf script -F comm,pid,cpu,time`` lines: (command, cpu, time)."""
    return "\n".join(f"{comm:>16} {1000 + cpu:6d} [{cpu:03d}] {t:.6f}:" for comm, cpu, t in rows)


def _every(comm: str, cpu: int, start: float, end: float, hz: float = 500) -> list:
    n = int((end - start) * hz)
    return [(comm, cpu, start + i / hz) for i in range(n)]


def _access(end: float, ms: float, route: str = "/app/v1_1/articles") -> str:
    stamp = datetime.fromtimestamp(end, UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {
            "event": "http.request",
            "logger": "toutiao.access",
            "path": route,
            "route": route,
            "duration_ms": ms,
            "timestamp": stamp,
        }
    )


def test_slow_answers_are_grouped_and_explained_by_their_neighbours() -> None:
    rows = []
    # 0-1 s: API workers on both CPUs, Redis now and then
    rows += _every("gunicorn", 0, T0, T0 + 3) + _every("gunicorn", 1, T0, T0 + 1)
    # 1.0-1.2 s: the recommender holds CPU 1 (a burst of refills)
    rows += _every("toutiao", 1, T0 + 1, T0 + 1.2) + _every("gunicorn", 1, T0 + 1.2, T0 + 2)
    # 2.0-2.05 s: no CPU has a sample (the VM was held), then both run again
    rows = [r for r in rows if not (T0 + 2.0 <= r[2] < T0 + 2.05)]
    rows += _every("gunicorn", 1, T0 + 2.05, T0 + 3)
    samples = episodes.parse_samples(_perf(rows))
    assert set(samples) == {0, 1} and samples[1][0][1] == "api"

    log = [
        "not json, not an access line",
        _access(T0 + 0.5, 3.0),  # fast
        _access(T0 + 1.15, 60.0),  # during the burst...
        _access(T0 + 1.18, 45.0, "/app/v1_0/articles/{article_id}"),  # ... overlapping
        _access(T0 + 2.07, 55.0),  # across the pause
        _access(T0 + 2.9, 80.0),  # nothing else ran: the API's own
        _access(T0 + 9.0, 90.0),  # outside the paced phase
    ]
    results = {
        "results": {
            "wrk": [
                {
                    "key": "feed_anon",
                    "paced": {"seconds": 5.0},
                    "rounds": [{"paced_measured_from_unix": T0}],
                }
            ]
        }
    }
    windows = episodes.paced_windows(results)
    assert windows == [(T0, T0 + 5.0, "feed_anon")]
    requests = episodes.read_requests(log, windows)
    assert len(requests) == 5
    found = episodes.group(requests, slow_ms=30)
    assert [(ep.requests, round(ep.max_ms)) for ep in found] == [(2, 60), (1, 55), (1, 80)]
    for ep in found:
        episodes.explain(ep, samples, hz=500)
    assert [ep.cause for ep in found] == ["background (ours)", "vm pause", "api and redis busy"]
    assert found[0].shares["background"] > 0.3 and found[1].pause_ms >= 40
    summary = episodes.report(found, requests, 30)
    assert summary["slow_by_cause"] == {
        "background (ours)": 2,
        "vm pause": 1,
        "api and redis busy": 1,
    }


def test_a_process_outside_the_stack_is_named() -> None:
    rows = _every("gunicorn", 0, T0, T0 + 1) + _every("1_scheduler", 1, T0, T0 + 1)
    ep = episodes.Episode(T0 + 0.4, T0 + 0.5, requests=3, max_ms=40)
    episodes.explain(ep, episodes.parse_samples(_perf(rows)), hz=500)
    assert ep.cause == "other process" and ep.shares["other:1_scheduler"] == 0.5
