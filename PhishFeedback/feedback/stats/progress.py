"""How far a long read has come, on standard error: a count and a rate, for whoever waits at a terminal.

Quiet for the first seconds (most reads end before anyone wonders); where standard error is no
terminal (a cron job's mail, a log), only the final line, which is worth keeping there.
"""

from __future__ import annotations

import time
from typing import Callable, TextIO

AFTER = 3.0
EVERY = 1.0


class Progress:
    def __init__(
        self,
        stream: TextIO,
        after: float = AFTER,
        clock: Callable[[], float] = time.monotonic,
        name: str = "thehive_stats",
    ) -> None:
        self.stream, self.after, self.clock, self.name = stream, after, clock, name
        self.started = self.last = clock()
        self.terminal = stream.isatty()
        self.shown = False
        self.read = 0

    def __call__(self, read: int, count: int) -> None:
        self.read = read
        now = self.clock()
        if not self.terminal or now - self.started < self.after or now - self.last < EVERY:
            return
        self.last, self.shown = now, True
        self.stream.write(f"\r{self.name}: {read:,} of {count:,} cases read ({self._rate(read, now)})")
        self.stream.flush()

    def done(self) -> None:
        read, now = self.read, self.clock()
        if now - self.started < self.after:
            if self.shown:
                self.stream.write("\n")
            return
        start = "\r" if self.shown else ""
        self.stream.write(
            f"{start}{self.name}: read {read:,} cases in {now - self.started:.0f} s ({self._rate(read, now)})\n"
        )
        self.stream.flush()

    def cut(self) -> None:
        """The read ends on a failure: the progress line is ended, so that the failure's sentence has its own."""
        if self.shown:
            self.stream.write("\n")
            self.shown = False

    def _rate(self, read: int, now: float) -> str:
        return f"{read / max(now - self.started, 1e-9):,.0f} a second"
