"""Background processes lower their CPU priority, every thread of them, and never raise it
(kit/priority.py). Each case runs in a process of its own: a test process cannot take a
lower priority back."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import json, os, sys, threading
    from pathlib import Path
    from toutiao.kit.priority import lower_cpu_priority

    start, wanted = int(sys.argv[1]), int(sys.argv[2])
    if start:
        os.nice(start)
    ready, done = threading.Event(), threading.Event()
    early = threading.Thread(target=lambda: (ready.set(), done.wait()))
    early.start()  # a thread a library started before the call
    ready.wait()
    result = lower_cpu_priority(wanted)
    later = []
    late = threading.Thread(target=lambda: later.append(os.getpriority(os.PRIO_PROCESS, 0)))
    late.start()
    late.join()

    def nice_of(tid):
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[16])  # the 19th field of stat

    threads = sorted(nice_of(int(t.name)) for t in Path("/proc/self/task").iterdir())
    done.set()
    early.join()
    print(json.dumps({"result": result, "threads": threads, "later": later[0]}))
    """
)


def _probe(start: int, wanted: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(start), str(wanted)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
@pytest.mark.parametrize(
    ("start", "wanted", "expected"),
    [
        (0, 5, 5),  # lowered: the threads there already and the ones started after
        (7, 5, 7),  # a supervisor's higher value is kept
        (0, 0, 0),  # 0: unchanged
    ],
)
def test_every_thread_runs_at_the_lower_priority(start: int, wanted: int, expected: int) -> None:
    found = _probe(start, wanted)
    assert found == {"result": expected, "threads": [expected, expected], "later": expected}
