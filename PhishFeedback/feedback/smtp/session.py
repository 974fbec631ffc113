"""An SMTP session: connect, secure the channel, log in; nothing about what is sent or when.

Every way a session can fail for good (TLS, a name that does not resolve, a refused login)
becomes `Permanent` with a sentence that names what to fix; the rest is left to the caller's
retry policy, described by `describe_trouble`. A session never outlives the job's deadline: it
is cut there (`OutOfTime`), however slowly the server answers. How to log in is the caller's
choice, made once per job (feedback/smtp/logins.py).
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from functools import cache

from feedback.alarm import Clock, timeout_within
from feedback.redaction import shortened
from feedback.smtp.connection import (
    MESSAGE_END_WAIT,
    REPLY_LINES,
    REPLY_OCTETS,
    OutOfTime,
    PlainConnection,
    ReplyTooLong,
    TlsConnection,
)
from feedback.smtp.settings import SmtpSettings
from feedback.way_out import Permanent

# The enhanced codes (RFC 3463) that open a line of a reply, and what a server writes after each.
ENHANCED_CODES = r"^\s*(?:[245]\.\d{1,3}\.\d{1,3}(?:[\s:;,]+|$))+"
# What of a server's reply the analyst reads: the words that matter come first (its code, what it refuses, why).
SHOWN_REPLY = 400


class LoginDeferred(smtplib.SMTPResponseException):
    """A 4xx to AUTH: the server could not check the login for now (RFC 4954 §6); a later session may."""


class Session:
    """A secured, logged-in session, cut at `deadline` whatever the server does; `login` is the job's one way in.

    A class rather than a generator under contextlib's decorator: nothing else in a job needs contextlib.
    """

    def __init__(
        self, smtp: SmtpSettings, context: ssl.SSLContext, deadline: float, login: Callable[[smtplib.SMTP], None]
    ) -> None:
        self.smtp, self.context, self.login = smtp, context, login
        self.clock = Clock(deadline)
        self.connection: smtplib.SMTP | None = None

    def __enter__(self) -> smtplib.SMTP:
        self.clock.__enter__()
        try:
            self._open()
        except BaseException as failure:
            self.__exit__(type(failure), failure, failure.__traceback__)
            raise
        return self.connection

    def __exit__(self, kind: type | None, failure: BaseException | None, trace: object) -> None:
        """A session that went well ends politely; a failure is told as what no retry can mend, or left as it is."""
        try:
            if failure is None:
                _quit(self.connection)
        finally:
            self.clock.__exit__(None, None, None)
            if self.connection is not None:
                self.connection.close()
        if isinstance(failure, (OSError, smtplib.SMTPException)):
            if self.clock.out():
                raise OutOfTime() from failure
            permanent = _permanent(failure, self.smtp)
            if permanent is not None:
                raise permanent from None

    def _open(self) -> None:
        smtp = self.smtp
        timeout = timeout_for(smtp, self.clock.deadline)
        # The EHLO name is settled once the connection's own address is known: "" spares smtplib its own guess.
        address = (smtp.host, smtp.port, "")
        if smtp.security == "tls":
            self.connection = TlsConnection(*address, timeout=timeout, context=self.context, clock=self.clock)
        else:
            try:
                self.connection = PlainConnection(*address, timeout=timeout, clock=self.clock)
            except smtplib.SMTPServerDisconnected as silent:
                # Silent for all of smtp_timeout, not just cut short by the job's deadline.
                if isinstance(silent.__context__, (TimeoutError, socket.timeout)) and timeout >= smtp.reach.timeout:
                    raise Permanent(_no_greeting(smtp, timeout)) from None
                raise
        self.connection.local_hostname = smtp.ehlo_name or ehlo_name(self.connection.sock)
        if smtp.security == "starttls":
            _ehlo(self.connection)
            if not self.connection.has_extn("starttls"):
                raise Permanent(
                    f"The SMTP server {smtp.where} does not offer STARTTLS, and the responder never"
                    " sends in clear text. Enable STARTTLS on the server, or set smtp_security to 'tls' for a"
                    " server that speaks TLS from the first byte (port 465)."
                )
            self.connection.starttls(context=self.context)
            _ehlo(self.connection)
        self.login(self.connection)


def _ehlo(connection: smtplib.SMTP) -> None:
    """EHLO, whose refusal is said as such: smtplib leaves a refused EHLO's features empty, which would read as a
    server without STARTTLS or AUTH. A 4xx (421: busy for now) is worth another session; a 5xx is final."""
    code, said = connection.ehlo()
    if code != 250:
        raise smtplib.SMTPHeloError(code, said)


def ehlo_name(sock: socket.socket) -> str:
    """The machine's fully qualified name, else the address literal of this end of the connection (RFC 5321 §4.1.3).

    Not the short host name (a container id under Cortex's docker runner), which a relay that
    wants a fully qualified EHLO name refuses.
    """
    name = _fqdn()
    if "." in name and not name.startswith("localhost"):
        return name
    address = sock.getsockname()[0].split("%")[0]
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


@cache
def _fqdn() -> str:
    """Asked once per job: it may cost a resolver lookup, and a job opens several sessions."""
    return socket.getfqdn()


def timeout_for(smtp: SmtpSettings, deadline: float) -> float:
    """smtp_timeout, or less when the job's deadline is nearer (feedback/alarm.py)."""
    return timeout_within(smtp.reach.timeout, deadline)


def _permanent(failure: Exception, smtp: SmtpSettings) -> Permanent | None:
    """The failures no retry can mend, in words; None for those worth another attempt."""
    if isinstance(failure, ssl.SSLError):
        return Permanent(_tls_failure(failure, smtp))
    if isinstance(failure, ReplyTooLong):
        return Permanent(
            f"The SMTP server {smtp.where} sent a reply longer than {REPLY_LINES} lines or"
            f" {REPLY_OCTETS // 1024} KiB, which no mail server sends; the responder stopped reading it. Check"
            " smtp_host and smtp_port, and that nothing on the network path answers in the server's place."
        )
    if isinstance(failure, socket.gaierror):
        return Permanent(f"The SMTP server name '{smtp.host}' cannot be resolved. Check smtp_host.")
    if isinstance(failure, smtplib.SMTPHeloError) and failure.smtp_code >= 500:
        return Permanent(
            f"The SMTP server {smtp.where} refused the EHLO name the responder gave: {failure.smtp_code}"
            f" {shown_reply(failure.smtp_error)}. Set smtp_ehlo_name to a name the server takes (the fully qualified"
            " name of Cortex's host, or one the server's administrator allows)."
        )
    if isinstance(failure, smtplib.SMTPResponseException) and failure.smtp_code >= 500:
        return Permanent(
            f"The SMTP server {smtp.where} answered {failure.smtp_code} {shown_reply(failure.smtp_error)}."
        )
    return None


def _quit(connection: smtplib.SMTP) -> None:
    """A polite end to a session that went well; after trouble the connection is just closed."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        pass


def _no_greeting(smtp: SmtpSettings, timeout: float) -> str:
    """A server that takes the connection and says nothing most likely waits for a TLS handshake: no retry mends it."""
    return (
        f"The SMTP server {smtp.where} took the connection but sent no greeting within {timeout:g} s: a server that"
        " speaks TLS from the first byte (port 465) needs smtp_security 'tls'; otherwise check smtp_host and smtp_port."
    )


def _tls_failure(failure: ssl.SSLError, smtp: SmtpSettings) -> str:
    if isinstance(failure, ssl.SSLCertVerificationError):
        return (
            f"The certificate of the SMTP server {smtp.host} could not be verified ({failure.verify_message})."
            " Put the CA that signed it in Cortex's cacerts setting or the system's trust store, and set"
            " smtp_host to a name the certificate covers; the responder never sends without verification."
        )
    return (
        f"TLS with the SMTP server {smtp.where} failed ({failure.reason or failure})."
        " Check smtp_security: 'tls' for a server that speaks TLS at once (port 465), 'starttls' otherwise."
    )


def describe_trouble(error: Exception, smtp: SmtpSettings) -> str:
    """Transient trouble in words."""
    where = f"the SMTP server {smtp.where}"
    if isinstance(error, OutOfTime):
        return f"the job's time budget ran out while waiting for {where}"
    cause = _cause(error)
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return f"{where} did not answer within {smtp.reach.timeout:g} s"
    if isinstance(cause, ConnectionRefusedError):
        return f"{where} refused the connection"
    if isinstance(cause, LoginDeferred):
        reply = f"{cause.smtp_code} {cause.smtp_error}"
        return f"{where} could not check the login for now ({reply}), a temporary failure on its side"
    if isinstance(cause, smtplib.SMTPResponseException):
        return f"{where} answered {cause.smtp_code} {shown_reply(cause.smtp_error)}"
    if isinstance(cause, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection"
    return f"the connection to {where} failed ({getattr(cause, 'strerror', None) or type(cause).__name__})"


def unanswered(error: Exception, smtp: SmtpSettings) -> str | None:
    """How the wait for the reply to a message's end ran out, as a clause ("… had the whole message but <this>"):
    a server that holds the message that long may well send it. None for a connection the server closed instead,
    which most likely lost it: that message is tried once more (docs/exactly-once.md)."""
    if isinstance(error, OutOfTime):
        return "the job's time budget ran out before it answered"
    if isinstance(_cause(error), (TimeoutError, socket.timeout)):
        return f"gave no answer within {max(smtp.reach.timeout, MESSAGE_END_WAIT):g} s"
    return None


def _cause(error: Exception) -> Exception:
    """What failed: smtplib reports a timeout or a reset as a disconnection, whose __context__ it is."""
    return error.__context__ if isinstance(error, smtplib.SMTPServerDisconnected) and error.__context__ else error


def shown_reply(reply: bytes | str) -> str:
    """A reply as the analyst reads it: scrubbed, one printable line, cut at SHOWN_REPLY characters, as every outside
    party's text (feedback/redaction.py `shortened`)."""
    return shortened(reply_text(reply), SHOWN_REPLY)


def reply_text(reply: bytes | str) -> str:
    """A reply on one line, as a reader joins its lines: smtplib drops each line's code but keeps the enhanced code
    (RFC 3463) that RFC 2034 repeats at the head of every line, which would cut what the lines quote into pieces (a
    password echoed 12 characters a line, too short for the scrubber to find each piece): it is kept at the first."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    first, *rest = text.split("\n")
    return " ".join(" ".join([first, *(_without_enhanced_code(line) for line in rest)]).split())


def _without_enhanced_code(line: str) -> str:
    """The line without the enhanced codes that open it, however written: followed by a tab or a colon, or twice (a
    proxy's own before the server's)."""
    return re.sub(ENHANCED_CODES, "", line)
