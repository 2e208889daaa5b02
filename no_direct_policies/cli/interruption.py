"""Stop ``remediate --apply`` on SIGINT or SIGTERM at a safe point, never in the middle.

The first signal asks the run to stop after the user being moved (between users);
a second one stops it before its next IAM call, leaving that user part-way, which
the helper's order of actions makes safe: no policy is removed from a user before
a group gives it, so its own changes take nothing away and grant nothing. The
executor's critical sections finish first (``executor.in_critical_section``: from the
first join to the checks before the first removal, what follows a removal that finds
its policy gone, a take-back, the lock's release): stopping inside them could leave a
policy someone revoked meanwhile granted. A rerun resumes.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The run stopped on a signal; ``str()`` says where. Not an Exception, so nothing
    on the way up (the helper catches AWS errors) mistakes it for a failure to handle."""


class StopRequests:
    """The signals received while the handlers are installed."""

    def __init__(self) -> None:
        self.received: list[str] = []

    @property
    def requested(self) -> bool:
        return bool(self.received)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum).name)

    def check_call_boundary(self, **_: Any) -> None:
        """A botocore ``before-call`` handler: a second signal stops before the next call,
        unless the move is in a critical section (``executor.in_critical_section``): then
        at the first call after it."""
        from no_direct_policies.move.executor import in_critical_section  # noqa: PLC0415

        if len(self.received) > 1 and not in_critical_section():
            raise Interrupted(f"{self.received[-1]} received twice")


@contextmanager
def deferred_stop() -> Iterator[StopRequests]:
    """SIGINT and SIGTERM recorded, not acted on at once, for the body of the block."""
    requests = StopRequests()
    previous = {signum: signal.signal(signum, requests._handle) for signum in STOP_SIGNALS}
    try:
        yield requests
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
