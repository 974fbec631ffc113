"""Cortex's SIGTERM at jobTimeout (its process runner; docs/cortex-and-thehive.md §1): what it may cut short.

The answer depends on how far the job got. Before any message goes out, the job just ends with a
report that says nothing was sent. While messages go out, the signal stops the sending, and the
account of who was reached is still reported; a message the server is deciding on is let finish
first (`held`), since a server that accepts it after the job gave up on it would mail that reporter
twice, once now and again at the next run. Once that account is settled, nothing may cut the
report short: a lost report means a lost record, and every reporter mailed again by the next run.
SIGINT (Ctrl-C in a run by hand, a supervisor's stop) is taken the same way, in its own words: a traceback
in its place would drop the message the server was deciding on.
Standard library and the job folder only: the script installs this before anything heavy is loaded.
"""

from __future__ import annotations

import os
import signal
import sys

from feedback.job_folder import REPORTED, write_failure

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

STARTING, SENDING, SETTLED = "starting", "sending", "settled"
# Who stopped the job, and what to do about it, by signal.
STOPPED_BY = {
    signal.SIGTERM: (
        "Cortex stopped the job (its jobTimeout ran out)",
        "Raise jobTimeout, or lower smtp_timeout and smtp_retries, then run the responder again.",
    ),
    signal.SIGINT: ("The job was interrupted (SIGINT)", "Run the responder again."),
}


WAITED = "Run the responder again once that job has ended and its tags are on the case."


class waiting:
    """While the job waits for another on its case (or alert, `kind`), a stop says so: the mail settings had no part
    in it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __enter__(self) -> None:
        _Phase.waiting = self.kind

    def __exit__(self, *exc: object) -> None:
        _Phase.waiting = ""


class Stopped(Exception):
    """Cortex (or a hand) asked the job to stop while the messages were going out."""

    def __init__(self, signum: int) -> None:
        who, advice = STOPPED_BY[signum]
        super().__init__(f"{who} before this feedback went out. {advice}")


class Ending(Exception):
    """What ends the sending by itself (a mailbox's quota, say): a SIGTERM held meanwhile leaves it its reason, the one
    the next run would meet again."""


class _Phase:
    now = STARTING
    waiting = ""  # the kind (case or alert) another job on which this one waits for (feedback/case_journals.py)
    holding = False  # a message is out and its fate not yet recorded
    pending = False  # SIGTERM came meanwhile
    # A stop was raised from the handler: where the handler ran inside a finalizer (a module lock's callback as a
    # module loads, say), Python printed the exception and went on, and the next message must not go.
    stopped = False
    signum = signal.SIGTERM  # the signal that stops the job


class held:
    """While a message goes out and its fate is recorded, SIGTERM waits; `Stopped` is raised when the block ends.

    The wait is bounded: the session's timeouts and the job's alarm still cut a server that takes too long.
    """

    def __enter__(self) -> None:
        check()
        _Phase.holding = True

    def __exit__(self, kind: type | None, *exc: object) -> None:
        _Phase.holding = False
        if _Phase.pending:
            if kind is not None and issubclass(kind, Ending):
                _Phase.now, _Phase.pending = SETTLED, False
            else:
                _stop()


def install() -> None:
    """From now on SIGTERM and SIGINT are handled by phase (a job run again in the same process starts afresh)."""
    _Phase.now, _Phase.holding, _Phase.pending, _Phase.signum = STARTING, False, False, signal.SIGTERM
    for signum in STOPPED_BY:
        signal.signal(signum, _handle)


def sending() -> None:
    """Messages go out from here: SIGTERM raises `Stopped` where the sender can account for it."""
    _Phase.now, _Phase.stopped = SENDING, False


def check() -> None:
    """Raises `Stopped` if a stop was raised before and Python dropped it: the sender asks before each message and
    each channel, lest it go on after Cortex's stop."""
    if _Phase.stopped:
        raise Stopped(_Phase.signum)


def settled() -> None:
    """The account is complete: SIGTERM is ignored until the report is written."""
    _Phase.now = SETTLED


def _handle(signum: int, frame: object) -> None:
    _Phase.signum = signum
    if _Phase.now == STARTING:
        who, advice = STOPPED_BY[signum]
        if _Phase.waiting:
            who, advice = f"{who} while it waited for another Phish_Feedback job on this {_Phase.waiting}", WAITED
        write_failure(f"{who} before any feedback was sent: nothing was sent or tagged. {advice}")
        end_process(REPORTED)
    elif _Phase.now == SENDING:
        if _Phase.holding:
            _Phase.pending = True
        else:
            _stop()


def end_process(code: object) -> NoReturn:
    """The process ends once its report is written, without Python's teardown of the job's modules and objects, and
    OpenSSL's: a twentieth of a job's instructions, of which nothing reaches Cortex (docs/performance.md). What that
    teardown would still do for the job is done here: its printed words flushed.

    A stop while the job starts ends it so too: an exception raised from the signal's handler could land in a
    callback whose exceptions Python prints and ignores (a module lock's, while a module loads), and the job would go
    on after a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def _stop() -> None:
    # Settled at once: a second signal must not cut short the account of the first.
    _Phase.now, _Phase.pending, _Phase.stopped = SETTLED, False, True
    raise Stopped(_Phase.signum)
