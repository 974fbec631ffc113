"""Handing messages to the SMTP server: verified TLS, login, bounded retries, an honest account.

The account matters more than the sending: whoever is listed as sent gets tagged as notified
and is never mailed again, so a message counts as sent only once the server accepted it.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager

from feedback.messages import Composer, Outgoing
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


class _Permanent(Exception):
    """Trying again will not help: the reason goes to every message still waiting."""


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
        attempts = 0
        while pending:
            attempts += 1
            try:
                with _session(self.smtp, context, self.deadline) as connection:
                    pending = self._send_all(connection, pending)
            except _Permanent as permanent:
                self.failed += [Failure(item.recipient, str(permanent)) for item in pending]
                pending = []
            except (smtplib.SMTPException, OSError) as error:
                self._waiting(pending, _trouble(error, self.smtp))
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
                self._refused(item, code, f"the server refused {item.recipient}: {code} {_text(reply)}", retry)
            except smtplib.SMTPSenderRefused as refused:
                reply = f"{refused.smtp_code} {_text(refused.smtp_error)}"
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
                reason = f"the server refused the message: {refused.smtp_code} {_text(refused.smtp_error)}"
                self._refused(item, refused.smtp_code, reason, retry)
            except (smtplib.SMTPServerDisconnected, OSError) as broken:
                self._waiting(pending[position:], _trouble(broken, self.smtp))
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


@contextmanager
def _session(smtp: SmtpSettings, context: ssl.SSLContext, deadline: float) -> Iterator[smtplib.SMTP]:
    where = f"{smtp.host}:{smtp.port}"
    timeout = max(1.0, min(smtp.timeout, deadline - time.monotonic()))
    local_name = socket.gethostname()
    connection = None
    try:
        if smtp.security == "tls":
            connection = smtplib.SMTP_SSL(smtp.host, smtp.port, local_name, timeout=timeout, context=context)
        else:
            connection = smtplib.SMTP(smtp.host, smtp.port, local_name, timeout=timeout)
        if smtp.security == "starttls":
            connection.ehlo()
            if not connection.has_extn("starttls"):
                raise _Permanent(
                    f"The SMTP server {where} does not offer STARTTLS, and the responder never sends in clear"
                    " text. Enable STARTTLS on the server, or set smtp_security to 'tls' for a server that"
                    " speaks TLS from the first byte (port 465)."
                )
            connection.starttls(context=context)
            connection.ehlo()
        if smtp.user:
            connection.login(smtp.user, smtp.password or "")
        yield connection
        _quit(connection)
    except ssl.SSLError as failure:
        raise _Permanent(_tls_failure(failure, smtp)) from None
    except socket.gaierror:
        raise _Permanent(f"The SMTP server name '{smtp.host}' cannot be resolved. Check smtp_host.") from None
    except smtplib.SMTPAuthenticationError as refused:
        raise _Permanent(
            f"The SMTP server {where} refused the login of '{smtp.user}': {refused.smtp_code}"
            f" {_text(refused.smtp_error)}. Check smtp_user and smtp_password."
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise _Permanent(
            f"The SMTP server {where} offers no login (AUTH) although smtp_user is set; the responder"
            " does not send without it. Check the server, or clear smtp_user for a relay that needs none."
        ) from None
    except smtplib.SMTPResponseException as refused:
        if refused.smtp_code >= 500:
            raise _Permanent(
                f"The SMTP server {where} answered {refused.smtp_code} {_text(refused.smtp_error)}."
            ) from None
        raise
    finally:
        if connection is not None:
            connection.close()


def _quit(connection: smtplib.SMTP) -> None:
    """A polite end to a session that went well; after trouble the connection is just closed."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        pass


def _tls_failure(failure: ssl.SSLError, smtp: SmtpSettings) -> str:
    if isinstance(failure, ssl.SSLCertVerificationError):
        return (
            f"The certificate of the SMTP server {smtp.host} could not be verified ({failure.verify_message})."
            " Put the CA that signed it in Cortex's cacerts setting or the system's trust store, and set"
            " smtp_host to a name the certificate covers; the responder never sends without verification."
        )
    return (
        f"TLS with the SMTP server {smtp.host}:{smtp.port} failed ({failure.reason or failure})."
        " Check smtp_security: 'tls' for a server that speaks TLS at once (port 465), 'starttls' otherwise."
    )


def _trouble(error: Exception, smtp: SmtpSettings) -> str:
    """Transient trouble in words; smtplib reports a timeout or a reset as a disconnection, hence __context__."""
    where = f"the SMTP server {smtp.host}:{smtp.port}"
    cause = error.__context__ if isinstance(error, smtplib.SMTPServerDisconnected) and error.__context__ else error
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return f"{where} did not answer within {smtp.timeout:g} s"
    if isinstance(cause, ConnectionRefusedError):
        return f"{where} refused the connection"
    if isinstance(cause, smtplib.SMTPResponseException):
        return f"{where} answered {cause.smtp_code} {_text(cause.smtp_error)}"
    if isinstance(cause, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection"
    return f"the connection to {where} failed ({getattr(cause, 'strerror', None) or type(cause).__name__})"


def _summary(failed: list[Failure]) -> str:
    reasons = sorted({f.reason for f in failed})
    if len(reasons) == 1 and reasons[0][0].isupper():
        return f"No feedback was sent. {reasons[0]}"
    return (
        f"No feedback was sent: {'; '.join(reasons)}. Check smtp_host and smtp_port, that the server is up and accepts"
        " connections from Cortex, and that it accepts the reporters' addresses."
    )


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())
