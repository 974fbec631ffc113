"""An SMTP session: connect, secure the channel, log in; nothing about what is sent or when.

Every way a session can fail for good (TLS, a name that does not resolve, a refused login)
becomes `Permanent` with a sentence that names what to fix; the rest is left to the caller's
retry policy, described by `describe_trouble`.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager

from feedback.settings import SmtpSettings


class Permanent(Exception):
    """Trying again will not help: the reason goes to every message still waiting."""


@contextmanager
def open_session(smtp: SmtpSettings, context: ssl.SSLContext, deadline: float) -> Iterator[smtplib.SMTP]:
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
                raise Permanent(
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
        raise Permanent(_tls_failure(failure, smtp)) from None
    except socket.gaierror:
        raise Permanent(f"The SMTP server name '{smtp.host}' cannot be resolved. Check smtp_host.") from None
    except smtplib.SMTPAuthenticationError as refused:
        raise Permanent(
            f"The SMTP server {where} refused the login of '{smtp.user}': {refused.smtp_code}"
            f" {reply_text(refused.smtp_error)}. Check smtp_user and smtp_password."
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise Permanent(
            f"The SMTP server {where} offers no login (AUTH) although smtp_user is set; the responder"
            " does not send without it. Check the server, or clear smtp_user for a relay that needs none."
        ) from None
    except smtplib.SMTPResponseException as refused:
        if refused.smtp_code >= 500:
            raise Permanent(
                f"The SMTP server {where} answered {refused.smtp_code} {reply_text(refused.smtp_error)}."
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


def describe_trouble(error: Exception, smtp: SmtpSettings) -> str:
    """Transient trouble in words; smtplib reports a timeout or a reset as a disconnection, hence __context__."""
    where = f"the SMTP server {smtp.host}:{smtp.port}"
    cause = error.__context__ if isinstance(error, smtplib.SMTPServerDisconnected) and error.__context__ else error
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return f"{where} did not answer within {smtp.timeout:g} s"
    if isinstance(cause, ConnectionRefusedError):
        return f"{where} refused the connection"
    if isinstance(cause, smtplib.SMTPResponseException):
        return f"{where} answered {cause.smtp_code} {reply_text(cause.smtp_error)}"
    if isinstance(cause, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection"
    return f"the connection to {where} failed ({getattr(cause, 'strerror', None) or type(cause).__name__})"


def reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())
