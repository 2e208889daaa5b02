"""``python -m tests.bench.peak MODULE ARGS...``: run ``python -m MODULE ARGS...`` and, at
exit, write this process's peak RSS (``VmHWM``, KiB) to the file ``$BENCH_PEAK_FILE``.

``ru_maxrss`` of a child is not enough on Linux: exec folds the forked copy of the
parent's memory into it, so a large parent (the bench, holding 20,000 seeded users)
inflates every child's figure. ``VmHWM`` belongs to the program's own address space.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path


def _vm_hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    module, *arguments = sys.argv[1:]
    sys.argv = [module, *arguments]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        target = os.environ.get("BENCH_PEAK_FILE")
        if target:
            Path(target).write_text(f"{_vm_hwm_kib()}\n")


if __name__ == "__main__":
    main()
