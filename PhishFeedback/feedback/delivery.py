"""Handing messages to the SMTP server: at the pace it allows, with bounded retries and an honest account.

The account matters more than the sending: whoever is listed as sent gets tagged as notified
and is never mailed again, so a message counts as sent only once the server accepted it; whoever
is not reached is listed as failed, so that the next run picks them up.
"""

from __future__ import annotations

import smtplib
import time

from feedback import pacing, replies, stopping
from feedback.logins import sender_advice, sessions
from feedback.messages import Composer, Outgoing
from feedback.session import Permanent, describe_trouble, reply_text
from feedback.settings import TIME_BUDGET_SHARE, SmtpSettings
from feedback.shapes import shape
from feedback.stopping import Stopped


class SmtpError(Exception):
    """No message could be delivered; the message says what failed and what to check."""


@shape
class Failure:
    address: str
    reason: str


@shape
class Delivery:
    sent: tuple[Outgoing, ...]
    failed: tuple[Failure, ...]


def deliver(composer: Composer, smtp: SmtpSettings, sender: str, deadline: float) -> Delivery:
    """Send each message once, over as few sessions as the server allows, until `deadline`."""
    return _Account(composer, smtp, sender, deadline).settle()


class _Halt(Exception):
    """Nothing more goes out in this job: the reason goes to everyone not reached yet."""


class _SessionOver(Exception):
    """The server ended or throttled this session: the account goes on over a new one."""


class _Account:
    """Who got their message, who never will in this job, and why the others are still waiting."""

    def __init__(self, composer: Composer, smtp: SmtpSettings, sender: str, deadline: float) -> None:
        self.composer, self.smtp, self.sender, self.deadline = composer, smtp, sender, deadline
        self.server = smtp.where
        self.pending: list[Outgoing] = list(composer.outgoing)  # in order: the first goes next
        self.later: list[Outgoing] = []  # deferred by a 4xx: tried again in the next session
        self.sent: list[Outgoing] = []
        self.failed: list[Failure] = []
        self.trouble: dict[str, str] = {}
        self.tries: dict[str, int] = {}  # a reporter's own 4xx replies
        self.stalled = 0  # sessions in a row that got no message through
        self.last_try: float | None = None
        self.longest = 0.0  # the longest transaction so far, from MAIL FROM to the server's last answer

    def settle(self) -> Delivery:
        try:
            # Both inside the `try`: a SIGTERM that comes between them is accounted for below.
            stopping.sending()
            self._attempt_all()
            stopping.settled()
        except Stopped as stopped:
            self._give_up(str(stopped))
        if not self.sent:
            raise SmtpError(_summary(self.failed))
        return Delivery(tuple(self.sent), tuple(self.failed))

    def _attempt_all(self) -> None:
        open_session = sessions(self.smtp, self.deadline)
        while self.pending:
            accepted = len(self.sent)
            try:
                with open_session() as connection:
                    self._send_over(connection)
            except (Permanent, _Halt) as final:
                self._give_up(str(final))
                return
            except _SessionOver as over:
                self._waiting(str(over))
            except (smtplib.SMTPException, OSError) as error:
                self._waiting(describe_trouble(error, self.smtp))
            self.pending += self.later
            self.later = []
            self.stalled = 0 if len(self.sent) > accepted else self.stalled + 1
            wait = pacing.pause(self.stalled)
            if self.pending and not pacing.may_try_again(
                self.stalled, self.smtp.retries, time.monotonic(), wait, self.smtp.timeout, self.deadline
            ):
                self._give_up_waiting()
            if self.pending:
                time.sleep(wait)

    def _send_over(self, connection: smtplib.SMTP) -> None:
        """Send what is pending, in order and at the pace, until the session ends."""
        while self.pending:
            item = self.pending[0]
            self._wait_for_slot()
            with stopping.held():
                self._send_one(connection, item)

    def _send_one(self, connection: smtplib.SMTP, item: Outgoing) -> None:
        started = time.monotonic()
        try:
            connection.send_message(self.composer.message(item), from_addr=self.sender, to_addrs=[item.recipient])
        except smtplib.SMTPRecipientsRefused as refused:
            code, reply = next(iter(refused.recipients.values()))
            self._refused(item, replies.RECIPIENT, code, reply_text(reply))
        except smtplib.SMTPSenderRefused as refused:
            self._refused(item, replies.SENDER, refused.smtp_code, reply_text(refused.smtp_error))
        except smtplib.SMTPDataError as refused:
            self._refused(item, replies.MESSAGE, refused.smtp_code, reply_text(refused.smtp_error))
        else:
            self.sent.append(item)
            self.pending.pop(0)
        finally:
            self.last_try = time.monotonic()
            self.longest = max(self.longest, self.last_try - started)

    def _wait_for_slot(self) -> None:
        now = time.monotonic()
        slot = pacing.next_slot(now, self.last_try, self.smtp.max_per_minute)
        if not pacing.fits(slot, self.deadline, self.longest):
            raise _Halt(self._out_of_time())
        if slot > now:
            time.sleep(slot - now)

    def _refused(self, item: Outgoing, step: str, code: int, text: str) -> None:
        meaning = replies.meaning(step, code, text, self.sender)
        reply = f"{code} {text}"
        if meaning == replies.QUOTA:
            raise _Halt(
                f"The SMTP server {self.server} answered with a sending quota ({reply}); nothing more went out"
                " in this job. Run the responder again once the quota resets: it mails only those not reached"
                " (Exchange Online takes 30 messages a minute and 10,000 recipients a day: see smtp_max_per_minute)."
            )
        if meaning == replies.SENDER_REFUSED:
            raise _Halt(f"The SMTP server refused the sender {self.sender}: {reply}. {sender_advice(text)}")
        if meaning == replies.TOO_LARGE:
            raise _Halt(
                f"The SMTP server {self.server} refused the message as too large ({reply}), and every message of"
                " this job is about that size: raise the server's size limit (Postfix: message_size_limit) or"
                " shorten the template."
            )
        if meaning == replies.CLOSED:
            raise _SessionOver(f"the SMTP server {self.server} closed the session ({reply})")
        if meaning == replies.THROTTLED:
            raise _SessionOver(f"the SMTP server {self.server} answered {reply}")
        self.pending.pop(0)
        about = item.recipient if step == replies.RECIPIENT else "the message"
        reason = f"the server refused {about}: {reply}"
        if meaning == replies.REFUSED:
            self.failed.append(Failure(item.recipient, reason))
            return
        self.tries[item.recipient] = tries = self.tries.get(item.recipient, 0) + 1
        if tries > self.smtp.retries:
            self.failed.append(Failure(item.recipient, f"{reason} (after {tries} attempt(s))"))
        else:
            self.trouble[item.recipient] = reason
            self.later.append(item)

    def _out_of_time(self) -> str:
        budget = f"time budget ({TIME_BUDGET_SHARE:.0%} of Cortex's jobTimeout)"
        advice = "Run the responder again: it mails only those not reached; or raise jobTimeout."
        pace = self.smtp.max_per_minute
        if not pace:
            return (
                f"The job's {budget} ran out, or had too little left for the server to answer one more message,"
                f" before this reporter's turn. {advice}"
            )
        count = len(self.composer.outgoing)
        return (
            f"At smtp_max_per_minute {pace:g}, this job's {count} message(s) need"
            f" {pacing.duration(count, pace) / 60:.1f} min; its {budget} ended before this reporter's turn. {advice}"
        )

    def _waiting(self, reason: str) -> None:
        self.trouble.update(dict.fromkeys((item.recipient for item in self.pending), reason))

    def _give_up_waiting(self) -> None:
        """No retry left: the sessions in a row that failed, or a reporter's own deferrals, make the count."""
        for item in self.pending:
            attempts = max(self.stalled, self.tries.get(item.recipient, 0), 1)
            self.failed.append(Failure(item.recipient, f"{self.trouble[item.recipient]} (after {attempts} attempt(s))"))
        self.pending = []

    def _give_up(self, reason: str) -> None:
        """Everyone not accounted for yet gets `reason`, whatever was under way when it came."""
        done = {item.recipient for item in self.sent} | {failure.address for failure in self.failed}
        self.failed += [Failure(i.recipient, reason) for i in self.composer.outgoing if i.recipient not in done]
        self.pending, self.later = [], []


def _summary(failed: list[Failure]) -> str:
    reasons = sorted({f.reason for f in failed})
    if len(reasons) == 1 and reasons[0][0].isupper():
        return f"No feedback was sent. {reasons[0]}"
    return (
        f"No feedback was sent: {'; '.join(reasons)}. Check smtp_host and smtp_port, that the server is up and accepts"
        " connections from Cortex, and that it accepts the reporters' addresses."
    )
