"""What a running Python process's garbage collector tracks, counted by type.

    python bench/heap_census.py PID [PID ...] [--out DIR]

Attaches gdb to each process and has it run :data:`CENSUS` inside, between two bytecodes,
holding the GIL: the tracked objects by type, the collector's generation sizes and what was
frozen (``toutiao.kit.heap``), the sizes of the in-process caches, and how long a
collection of the middle and of every generation then takes there. The process pauses
for a few seconds: run it after a load, not during one. Needs gdb and the right to
ptrace the process (root, or ``kernel.yama.ptrace_scope`` 0). Writes
``DIR/census-PID.txt`` and prints it.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile

CENSUS = r"""
import collections as _collections, gc as _gc, json as _json, sys as _sys, time as _time
def _census(_path):
    objects = _gc.get_objects()
    kinds = _collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
    caches = {}
    for module_name, module in list(_sys.modules.items()):
        if module_name.startswith("toutiao.") and module is not None:
            for name, value in vars(module).items():
                if name.startswith("_l1"):
                    try:
                        caches[f"{module_name}.{name}"] = len(value)
                    except TypeError:
                        pass
    sizes = [len(_gc.get_objects(generation)) for generation in range(3)]
    del objects
    started = _time.perf_counter()
    _gc.collect(1)
    middle = _time.perf_counter() - started
    started = _time.perf_counter()
    _gc.collect()
    full = _time.perf_counter() - started
    left = len(_gc.get_objects())
    with open(_path, "w") as out:
        out.write(f"tracked {sum(sizes)} (generations {sizes}), frozen {_gc.get_freeze_count()}\n")
        out.write(f"collections: middle {middle * 1000:.1f} ms, full {full * 1000:.1f} ms, "
                  f"{left} tracked after\n")
        for name, size in sorted(caches.items()):
            out.write(f"  {name}: {size} entries\n")
        for kind, count in kinds.most_common(25):
            out.write(f"{count:8d} {kind}\n")
_census(PATH)
del _census
"""


def census(pid: int, out: pathlib.Path) -> str:
    target = out / f"census-{pid}.txt"
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(CENSUS.replace("PATH", repr(str(target.resolve()))))
    run = f'call (int)PyRun_SimpleString("exec(open(\\"{script.name}\\").read())")'
    subprocess.run(
        [
            "gdb", "-p", str(pid), "-batch",
            "-ex", "call (int)PyGILState_Ensure()",
            "-ex", run,
            "-ex", "call (void)PyGILState_Release($1)",
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    pathlib.Path(script.name).unlink()
    return target.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pids", type=int, nargs="+")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("."))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for pid in args.pids:
        try:
            print(f"== {pid}\n{census(pid, args.out)}")  # noqa: T201 - a command-line report
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"== {pid}: no census ({exc})", file=sys.stderr)  # noqa: T201
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
