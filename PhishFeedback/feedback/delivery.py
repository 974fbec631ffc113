"""Handing messages to the SMTP server: verified TLS, login, bounded retries, an honest account.

The account matters more than the sending: whoever is listed as sent gets tagged as notified
and is never mailed again, so a message counts as sent only once the server accepted it.
"""

from __future__ import annotations

import smtplib
import time

from feedback.logins import choose_login
from feedback.messages import Composer, Outgoing
from feedback.session import Permanent, describe_trouble, open_session, reply_text
from feedback.settings import SmtpSettings
from feedback.shapes import shape
from feedback.trust import trust_context

# The first pause before a retry, in seconds; each later pause doubles it.
FIRST_PAUSE = 1.0


class SmtpError(Exception):
    """No message could be delivered; the message says what failed and what to check."""


class Stopped(Exception):
    """Cortex asked the job to stop (SIGTERM, at its jobTimeout); what went out must still be told."""

    def __init__(self) -> None:
        super().__init__(
            "Cortex stopped the job (its jobTimeout ran out) before this feedback went out."
            " Raise jobTimeout, or lower smtp_timeout and smtp_retries, then run the responder again."
        )


@shape
class Failure:
    address: str
    reason: str


@shape
class Delivery:
    sent: tuple[Outgoing, ...]
    failed: tuple[Failure, ...]


def deliver(composer: Composer, smtp: SmtpSettings, sender: str, deadline: float) -> Delivery:
    """Send each message once, over one session, retrying transient trouble until `deadline`."""
    return _Account(composer, smtp, sender, deadline).settle()


class _Account:
    """Who got their message, who never will, and why the others are still waiting."""

    def __init__(self, composer: Composer, smtp: SmtpSettings, sender: str, deadline: float) -> None:
        self.composer, self.smtp, self.sender, self.deadline = composer, smtp, sender, deadline
        self.sent: list[Outgoing] = []
        self.failed: list[Failure] = []
        self.trouble: dict[str, str] = {}

    def settle(self) -> Delivery:
        try:
            self._attempt_all()
        except Stopped as stopped:
            done = {item.recipient for item in self.sent} | {failure.address for failure in self.failed}
            self.failed += [
                Failure(i.recipient, str(stopped)) for i in self.composer.outgoing if i.recipient not in done
            ]
        if not self.sent:
            raise SmtpError(_summary(self.failed))
        return Delivery(tuple(self.sent), tuple(self.failed))

    def _attempt_all(self) -> None:
        pending = list(self.composer.outgoing)
        context = trust_context(self.smtp.cacerts)
        login = choose_login(self.smtp, context, self.deadline)
        attempts = 0
        while pending:
            attempts += 1
            try:
                with open_session(self.smtp, context, self.deadline, login) as connection:
                    pending = self._send_all(connection, pending)
            except Permanent as permanent:
                self.failed += [Failure(item.recipient, str(permanent)) for item in pending]
                pending = []
            except (smtplib.SMTPException, OSError) as error:
                self._waiting(pending, describe_trouble(error, self.smtp))
            pause = FIRST_PAUSE * 2 ** (attempts - 1)
            if pending and (
                attempts > self.smtp.retries or time.monotonic() + pause + self.smtp.timeout > self.deadline
            ):
                self.failed += [
                    Failure(i.recipient, f"{self.trouble[i.recipient]} (after {attempts} attempt(s))") for i in pending
                ]
                pending = []
            if pending:
                time.sleep(pause)

    def _send_all(self, connection: smtplib.SMTP, pending: list[Outgoing]) -> list[Outgoing]:
        """Send what is pending over one connection; what must be tried again is returned."""
        retry = []
        for position, item in enumerate(pending):
            if time.monotonic() > self.deadline:
                self._waiting(pending[position:], "the job's time budget ran out")
                return retry + pending[position:]
            try:
                connection.send_message(self.composer.message(item), from_addr=self.sender, to_addrs=[item.recipient])
            except smtplib.SMTPRecipientsRefused as refused:
                code, reply = next(iter(refused.recipients.values()))
                self._refused(item, code, f"the server refused {item.recipient}: {code} {reply_text(reply)}", retry)
            except smtplib.SMTPSenderRefused as refused:
                reply = f"{refused.smtp_code} {reply_text(refused.smtp_error)}"
                reason = (
                    f"The SMTP server refused the sender {self.sender}: {reply}."
                    " Check 'from', and smtp_user/smtp_password if the server wants a login."
                )
                if refused.smtp_code < 500:
                    self._refused(item, refused.smtp_code, reason, retry)
                else:
                    self.failed += [Failure(i.recipient, reason) for i in pending[position:]]
                    return retry
            except smtplib.SMTPDataError as refused:
                reason = f"the server refused the message: {refused.smtp_code} {reply_text(refused.smtp_error)}"
                self._refused(item, refused.smtp_code, reason, retry)
            except (smtplib.SMTPServerDisconnected, OSError) as broken:
                self._waiting(pending[position:], describe_trouble(broken, self.smtp))
                return retry + pending[position:]
            else:
                self.sent.append(item)
        return retry

    def _refused(self, item: Outgoing, code: int, reason: str, retry: list[Outgoing]) -> None:
        """A 4xx refusal waits for the next attempt; any other is final for that reporter."""
        if 400 <= code < 500:
            retry.append(item)
            self.trouble[item.recipient] = reason
        else:
            self.failed.append(Failure(item.recipient, reason))

    def _waiting(self, items: list[Outgoing], reason: str) -> None:
        self.trouble.update(dict.fromkeys((item.recipient for item in items), reason))


def _summary(failed: list[Failure]) -> str:
    reasons = sorted({f.reason for f in failed})
    if len(reasons) == 1 and reasons[0][0].isupper():
        return f"No feedback was sent. {reasons[0]}"
    return (
        f"No feedback was sent: {'; '.join(reasons)}. Check smtp_host and smtp_port, that the server is up and accepts"
        " connections from Cortex, and that it accepts the reporters' addresses."
    )
