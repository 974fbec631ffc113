"""The job's one time budget, kept where a timeout per read cannot keep it.

A server that trickles a byte every few seconds never trips a timeout per read, so each call to
another party (SMTP, HTTP) runs under the job's one `Clock`, an alarm (SIGALRM) set at the deadline
that shuts the call's sockets when it rings: the call then fails as a connection cut, and its caller
tells the deadline from a failing server by asking the clock.
"""

from __future__ import annotations

import signal
import socket
import time


class Clock:
    """At `deadline`, while its `with` block runs, shuts every socket it watches, whatever read or write waits on them.

    It only shuts sockets and never raises in the middle of the caller's account: a message whose
    answer was read counts; one whose answer was cut short fails its request, and is not counted as sent.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline, self.rang = deadline, False
        self.sockets: list[socket.socket] = []

    def __enter__(self) -> Clock:
        self.previous = signal.signal(signal.SIGALRM, self._ring)
        self.entered = time.monotonic()
        # A clock already set (the session's, around the request for a renewed token) rings no later for this one.
        self.outer = signal.getitimer(signal.ITIMER_REAL)[0]
        delay = max(self.deadline - self.entered, 0.001)
        signal.setitimer(signal.ITIMER_REAL, min(delay, self.outer) if self.outer else delay)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        if self.outer:
            signal.setitimer(signal.ITIMER_REAL, max(self.outer - (time.monotonic() - self.entered), 0.001))

    def out(self) -> bool:
        """Whether the deadline passed: the clock rang, or a read timed out that had only the budget left."""
        return self.rang or time.monotonic() >= self.deadline

    def watch(self, sock: socket.socket) -> None:
        """A socket opened after the deadline (a retry's, say) is shut at once."""
        self.sockets.append(sock)
        if self.rang:
            shut(sock)

    def _ring(self, signum: int, frame: object) -> None:
        self.rang = True
        for sock in self.sockets:
            shut(sock)


def timeout_within(timeout: float, deadline: float) -> float:
    """The configured timeout, or less when the job's deadline is nearer; never under a second, which no exchange
    could use."""
    return max(1.0, min(timeout, deadline - time.monotonic()))


class BudgetSpent(TimeoutError):
    """The job's deadline came while another party still held it."""


def shut(sock: socket.socket) -> None:
    """Ends every read and write that waits on the socket; an alarm's `ring` uses it to cut a connection."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass
