"""What the loopback SMTP server accepts, and the trouble it makes on purpose: real servers' replies, word for word."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Exchange Online's reply past its sending limits (docs/cortex-and-thehive.md §8).
QUOTA_REPLY = (
    "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException;"
    " Failed to process message due to a permanent exception"
)
THROTTLE_REPLY = "451 4.7.500 Server busy. Please try again later"
# Postfix's reply past smtpd_client_recipient_rate_limit, about the client, not the recipient.
RATE_REPLY = "450 4.7.1 Error: too many recipients from 127.0.0.1"
CLOSING_REPLY = "421 4.3.2 Service not available, closing transmission channel"

USER = "phishfeedback"
PASSWORD = "Corr3ct-Horse-Battery-Staple"


@dataclass
class Faults:
    """Trouble the server makes on purpose; counters go down as each fault is used."""

    refuse_sender: str = ""
    refuse: dict[str, str] = field(default_factory=dict)
    # The reply to every RCPT TO (each refused recipient is noted in `refused`), as Postfix's
    # reject_sender_login_mismatch refuses the sender there.
    refuse_rcpt: str = ""
    defer_rcpt: dict[str, int] = field(default_factory=dict)
    # Recipients one transaction takes; past them, "452 4.5.3 Error: too many recipients" as Postfix says it.
    max_recipients: int = 0
    # Recipients taken from this client per so many seconds, as Postfix's smtpd_client_recipient_rate_limit counts
    # them: past those, RATE_REPLY to every RCPT TO until the time unit is over.
    rcpt_rate: tuple[int, float] = (0, 0.0)
    # Seconds the server takes to answer each RCPT TO.
    rcpt_delay: float = 0.0
    # Seconds the server takes to answer RCPT TO for these recipients (rcpt_delay for the others).
    rcpt_delay_for: dict[str, float] = field(default_factory=dict)
    # RCPT TO for these recipients answered once the test sets their event (within a minute): a job held mid-send
    # for as long as the test needs, however slowly a busy machine starts what the test runs beside it.
    rcpt_held_for: dict[str, threading.Event] = field(default_factory=dict)
    # After this many recipients refused (`refuse`) in one session, 421 to the next RCPT TO and the connection
    # closed, as Postfix does past smtpd_hard_error_limit (20 by default).
    hard_errors: int = 0
    defer_data: int = 0
    drop_data: int = 0
    # Once this many were delivered: the next message is held `stall_for` s at its end, then "451 4.4.2 Stalled on
    # purpose" (a server that decides slowly, and finally not).
    stall_after: int = -1
    stall_for: float = 60.0
    # After this many messages in one session: 421 to the next MAIL FROM, and the connection closed.
    per_session: int = 0
    # Once this many were delivered: the connection closed without a word at the next MAIL FROM (once).
    drop_after: int = -1
    # Once this many were delivered: `throttled` more MAIL FROM answered THROTTLE_REPLY.
    throttle_after: int = -1
    throttled: int = 0
    # Once this many were delivered: every message refused at its end with `limit_reply` (a 421 also closes).
    limit_after: int = -1
    limit_reply: str = QUOTA_REPLY
    # The login and password the server accepts (a test may configure a password with odd white space or characters,
    # or a login that is an address).
    user: str = USER
    password: str = PASSWORD
    # A hostile server's answer to every AUTH, quoting what the client sent: {password} as it arrived,
    # {plain} (the base64 of "\0user\0password" the client sent for PLAIN), {login} (base64 of the password).
    auth_reply: str = ""
    # How many logins in a row get "454 4.7.0 Temporary authentication failure" (Postfix when Dovecot is slow).
    defer_auth: int = 0
    # The lines of each EHLO reply, from aiosmtpd's and whether the session is under TLS: extra AUTH lines, or a
    # refusal (a last line that is no 250; a 421 closes the connection).
    ehlo: Callable[[list[str], bool], list[str]] | None = None
    # The reply to every HELO, if it is to be refused.
    helo_reply: str = ""
    # A reply the server sends with its next `early_replies` 354s, in the same write, before the message came.
    early_reply: str = ""
    early_replies: int = 1
    # A reply the server sends in place of every 354 (a server out of step: it then reads no message).
    data_reply: str = ""
    # Seconds the server waits after its 354 before it reads the message (a server slower to read than the client to
    # write, whose buffers fill meanwhile).
    read_delay: float = 0.0
    # The reply to a message's end, once it is delivered.
    accepted_reply: str = "250 2.0.0 Message accepted"
    # Called when the client says QUIT, before the server answers it.
    on_quit: Callable[[], None] | None = None
    # Called when a message has arrived; an accepted one is delivered, then answered `verdict_delay` s later.
    on_data: Callable[[], None] | None = None
    verdict_delay: float = 0.0


@dataclass
class XOAuth2:
    """What the server takes for SASL XOAUTH2 (docs/cortex-and-thehive.md §8), and how it refuses the rest.

    `tokens` maps each bearer token it accepts to the mailbox it may send as, `expiry` a token to the
    time.monotonic() from which it is refused as expired. `style` "exchange"
    refuses at once with `reply`; "google" first sends a 334 with a base64 JSON status and waits
    for the client's empty line. `echo` quotes the client's AUTH string in the refusal; with `split`, over
    several reply lines of that many characters, each opening with the reply's codes (RFC 2034 §4).
    """

    tokens: dict[str, str] = field(default_factory=dict)
    expiry: dict[str, float] = field(default_factory=dict)
    style: str = "exchange"
    reply: str = ""
    echo: bool = False
    split: int = 0

    def honour(self, token: str, mailbox: str, lifetime: float) -> None:
        """Take `token` for `mailbox` until `lifetime` s from now."""
        self.tokens[token] = mailbox
        self.expiry[token] = time.monotonic() + lifetime

    def refusal(self, sent: str) -> str:
        default = {
            "exchange": "535 5.7.3 Authentication unsuccessful [AM0PR10CA0001.EURPRD10.PROD.OUTLOOK.COM]",
            "google": "535 5.7.8 Username and Password not accepted. https://support.google.com/mail/?p=BadCredentials",
        }[self.style]
        reply = self.reply or default
        if self.echo and self.split:
            codes = reply.split()[:2]
            pieces = [sent[i : i + self.split] for i in range(0, len(sent), self.split)]
            return "\r\n".join([*(f"{codes[0]}-{codes[1]} {piece}" for piece in pieces), reply])
        return f"{reply}{f' {sent}' if self.echo else ''}"
