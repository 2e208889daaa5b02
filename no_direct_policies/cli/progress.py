"""A one-line progress bar on standard error, for people at a terminal.

It shows only when the stream is a terminal and the work has lasted
``DELAY_SECONDS``: a quick run, a pipe or a log file gets nothing. It redraws
itself in place at most ten times a second and erases itself when done, so the
report and the error lines are never mixed with it. Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

DELAY_SECONDS = 2.0
REDRAW_SECONDS = 0.1
BAR_WIDTH = 20
LINE_WIDTH = 79  # an 80-column terminal, without wrapping onto the next line


class Progress:
    """Progress of one phase (``label``): ``done`` of ``total`` items, or a count."""

    def __init__(
        self,
        stream: TextIO,
        label: str,
        *,
        total: int | None = None,
        unit: str = "",
        delay: float = DELAY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.stream, self.label, self.total, self.unit = stream, label, total, unit
        self.delay, self.clock = delay, clock
        self.started = clock()
        self.done = 0
        self.note = ""
        self.shown = False
        self.last_draw = 0.0
        self.lock = threading.Lock()

    def update(self, *, done: int | None = None, advance: int = 0, note: str | None = None) -> None:
        """Set or advance the count (and the note after it); redraw when due."""
        with self.lock:
            self.done = done if done is not None else self.done + advance
            if note is not None:
                self.note = note
            now = self.clock()
            if not self.enabled or now - self.started < self.delay:
                return
            if self.shown and now - self.last_draw < REDRAW_SECONDS:
                return
            self.last_draw, self.shown = now, True
            self._write("\r" + self.line() + "\x1b[K")

    def line(self) -> str:
        """The text of the bar, cut to fit an 80-column terminal."""
        if self.total:
            filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            text = f"{self.label} [{bar}] {self.done}/{self.total} {self.unit}"
        else:
            text = f"{self.label}: {self.done} {self.unit}"
        if self.note:
            text = f"{text.rstrip()}, {self.note}"
        return text.rstrip()[:LINE_WIDTH]

    def close(self) -> None:
        """Erase the bar (if it was shown)."""
        with self.lock:
            if self.shown:
                self._write("\r\x1b[K")
                self.shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal must not stop the work
            self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
