"""The dry run over SMTP: the envelope of every message, and never the message.

Over a session opened as a send opens it, MAIL FROM the sender and RCPT TO each reporter, then RSET:
the server judges the sender and every address as it would in the real run (Postfix judges the
sender at the first RCPT TO), and without DATA nothing is sent. Each refusal is read by the rules a
send uses (the transport's `answer`), so it reads as the real run would word it, and a refusal that
would stop the real run (the sender, a quota) ends the dry run with the same sentence.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable

from feedback import pacing, way_out
from feedback.pacing import Limits
from feedback.smtp import replies
from feedback.way_out import NOT_CHECKED, Answer, Checked, Permanent

# RFC 5321 §4.5.3.1.8: a server takes at least 100 recipients in one transaction (Postfix 1,000,
# Exchange 500); the next ones go in a new transaction, as they do when a server answers 452 sooner.
RECIPIENTS_PER_TRANSACTION = 100
TOO_MANY_RECIPIENTS = 452
OUT_OF_TIME = "the job's time budget ran out before the dry run asked about this reporter"


class SessionOver(Exception):
    """The server ended or throttled the session (421, a 4xx to MAIL FROM): the check goes on over a new one."""


class Envelopes:
    """Who the server would take, asked once each, in transactions spaced at the job's pace, within its budget."""

    def __init__(
        self,
        recipients: list[str],
        sender: str,
        answer: Callable[[str, int, str, str], Answer],
        limits: Limits,
        deadline: float,
    ) -> None:
        self.pending = list(recipients)
        self.checked: list[Checked] = []
        self.sender, self.answer, self.limits, self.deadline = sender, answer, limits, deadline
        self.last: float | None = None  # when the last transaction ended
        self.longest = 0.0  # the longest exchange so far, as the real run keeps room for it
        self.opened = False  # a session got as far as MAIL FROM

    def ask(self, connection: smtplib.SMTP) -> None:
        """Every pending reporter over this session, unless SessionOver (or smtplib or the socket) ends it first."""
        self.opened = True
        while self.pending:
            slot = pacing.next_slot(time.monotonic(), self.last, self.limits.max_per_minute)
            if not pacing.fits(slot, self.deadline, self.longest):
                self.rest(OUT_OF_TIME)
                return
            time.sleep(max(0.0, slot - time.monotonic()))
            self._transaction(connection)

    def rest(self, reason: str) -> None:
        """The reporters not asked about yet stay unchecked, for `reason`."""
        self.checked += [Checked(address, NOT_CHECKED, reason) for address in self.pending]
        self.pending = []

    def _transaction(self, connection: smtplib.SMTP) -> None:
        code, reply = self._timed(connection.mail, self.sender)
        if code != 250:  # about every message: the real run stops, or pauses and goes on over a new session
            answer = self.answer(replies.SENDER, code, reply, self.pending[0])
            raise Permanent(answer.reason) if answer.kind == way_out.STOP else SessionOver(answer.reason)
        taken = 0
        while self.pending and taken < RECIPIENTS_PER_TRANSACTION:
            recipient = self.pending[0]
            if not pacing.fits(time.monotonic(), self.deadline, self.longest):
                self.rest(OUT_OF_TIME)
                break
            code, reply = self._timed(connection.rcpt, recipient)
            if code == TOO_MANY_RECIPIENTS and taken:
                break  # this transaction is full: the next one asks again
            if code in (250, 251):
                taken += 1
                self._judge(recipient, way_out.TAKEN)
            else:
                self._judge(recipient, self.answer(replies.RECIPIENT, code, reply, recipient))
        self._timed(connection.rset)
        self.last = time.monotonic()

    def _judge(self, recipient: str, answer: Answer) -> None:
        """The real run's policy, foreseen: what stops it stops the dry run, what ends a session ends this one."""
        if answer.kind == way_out.STOP:
            raise Permanent(answer.reason)
        if answer.kind == way_out.RECONNECT:
            raise SessionOver(answer.reason)
        self.pending.pop(0)
        self.checked.append(Checked(recipient, answer.kind, answer.reason))

    def _timed(self, command: Callable, *arguments: str) -> tuple[int, bytes]:
        started = time.monotonic()
        try:
            return command(*arguments)
        finally:
            self.longest = max(self.longest, time.monotonic() - started)
