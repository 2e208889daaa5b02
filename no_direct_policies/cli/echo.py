"""Values echoed back in error messages, shortened so one bad value cannot flood a terminal.

A user who pastes a file into ``--user`` or ``--endpoint-url`` still gets a one-line
error: the value is cut to its first characters and its length is stated.
"""

from __future__ import annotations

import re

# Long enough for any IAM user name (64) to show whole in practice, short enough for a line.
ECHO_LIMIT = 60
# A quoted value in a message, as repr() or argparse writes it.
_QUOTED = re.compile(r"'([^'\n]*)'")


def shorten(value: str, limit: int = ECHO_LIMIT) -> str:
    """``value`` itself, or its first ``limit`` characters and how long it really is."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}... ({len(value)} characters)"


def shorten_quoted(message: str, limit: int = ECHO_LIMIT) -> str:
    """``message`` with every quoted value longer than ``limit`` shortened."""

    def cut(match: re.Match[str]) -> str:
        value = match.group(1)
        if len(value) <= limit:
            return match.group(0)
        return f"'{value[:limit]}...' ({len(value)} characters)"

    return _QUOTED.sub(cut, message)
