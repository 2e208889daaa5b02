"""Entry point: ``python -m no_direct_policies audit|remediate|demo``."""

from __future__ import annotations

import os
import sys

from no_direct_policies.aws_session import EXIT_BROKEN_PIPE, EXIT_OUTPUT_ERROR
from no_direct_policies.cli import main

try:
    code = main()
except BrokenPipeError:
    # The reader (e.g. `| head`) stopped early: not an error worth a traceback.
    code = EXIT_BROKEN_PIPE
if code in {EXIT_BROKEN_PIPE, EXIT_OUTPUT_ERROR} and sys.stdout is not None:
    # What is still buffered cannot be written: drop it, so the exit flush stays quiet.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
sys.exit(code)
