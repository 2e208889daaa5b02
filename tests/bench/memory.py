"""``python -m tests.bench.memory`` (``make bench-memory``): the audit's peak memory against
the number of users, per output format, on the paging server (each figure is the
audit process's own VmHWM, see peak).

The streamed formats (table, csv, json, ocsf, asff) hold one
GetAccountAuthorizationDetails page (1,000 users) at a time, so their peak RSS
should not grow with the number of users; junit and html hold every finding.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from .paging_server import PagingServer
from .run import _expect, _seed_account, measure

SIZES = (1_000, 5_000, 20_000)
FORMATS = ("table", "csv", "json", "ocsf", "asff", "junit", "html")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.memory", description=__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="users per account")
    parser.add_argument("--formats", default=",".join(FORMATS), help="output formats")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    formats = args.formats.split(",")
    rows = []
    with PagingServer() as server:
        for users in sizes:
            _seed_account(server, users)
            cells = []
            for fmt in formats:
                with tempfile.TemporaryDirectory() as folder:
                    peak = Path(folder) / "peak"
                    os.environ["BENCH_PEAK_FILE"] = str(peak)
                    run = measure(
                        server,
                        f"audit {fmt}",
                        ["-m", "tests.bench.peak", "no_direct_policies", "audit", "--format", fmt],
                    )
                    _expect(run.returncode == 1, f"audit --format {fmt}: {run.returncode}", run)
                    cells.append(f"{int(peak.read_text()) / 1024:.1f} MiB")
            rows.append([f"{users:,}", *cells])
    print("| users | " + " | ".join(formats) + " |")
    print("|---:|" + "---:|" * len(formats))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
