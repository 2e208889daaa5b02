"""Entry point: ``python -m no_direct_policies audit|remediate|demo``."""

from __future__ import annotations

import os
import sys

from no_direct_policies.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # The reader (e.g. `| head`) stopped early: not an error worth a traceback.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 141  # 128 + SIGPIPE, what a shell reports for the same case
sys.exit(code)
