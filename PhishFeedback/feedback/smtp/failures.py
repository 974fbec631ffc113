"""What an SMTP session's failures mean, in the words an analyst reads: those no retry mends (`permanent`), the
trouble the caller's retry policy waits out (`describe_trouble`), and a server's reply made fit to be shown.

Apart from the session itself (feedback/smtp/session.py), which only opens, secures and logs in.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl

from feedback.redaction import shortened
from feedback.smtp import replies
from feedback.smtp.connection import MESSAGE_END_WAIT, REPLY_LINES, REPLY_OCTETS, OutOfTime, RepliedEarly, ReplyTooLong
from feedback.smtp.settings import SmtpSettings
from feedback.way_out import Permanent

# The enhanced codes (RFC 3463) that open a line of a reply, and what a server writes after each.
ENHANCED_CODES = r"^\s*(?:[245]\.\d{1,3}\.\d{1,3}(?:[\s:;,]+|$))+"
# What of a server's reply the analyst reads: the words that matter come first (its code, what it refuses, why).
SHOWN_REPLY = 400


class LoginDeferred(smtplib.SMTPResponseException):
    """A 4xx to AUTH: the server could not check the login for now (RFC 4954 §6); a later session may."""


def permanent(failure: Exception, smtp: SmtpSettings) -> Permanent | None:
    """The failures no retry can mend, in words; None for those worth another attempt."""
    if isinstance(failure, ssl.SSLError):
        return Permanent(_tls_failure(failure, smtp))
    if isinstance(failure, ReplyTooLong):
        return Permanent(
            f"The SMTP server {smtp.where} sent a reply longer than {REPLY_LINES} lines or"
            f" {REPLY_OCTETS // 1024} KiB, or a line longer than {smtplib._MAXLINE // 1024} KiB, which no mail server"
            " sends; the responder stopped reading it. Check smtp_host and smtp_port, and that nothing on the network"
            " path answers in the server's place."
        )
    if isinstance(failure, socket.gaierror):
        return Permanent(f"The SMTP server name '{smtp.host}' cannot be resolved. Check smtp_host.")
    if isinstance(failure, smtplib.SMTPHeloError) and failure.smtp_code in (500, 502):  # HELO's, after EHLO's
        return Permanent(
            f"The SMTP server {smtp.where} knows neither EHLO nor HELO ({failure.smtp_code}"
            f" {shown_reply(failure.smtp_error)}): no mail server answers there. Check smtp_host and smtp_port."
        )
    if isinstance(failure, smtplib.SMTPHeloError) and failure.smtp_code >= 500:
        return Permanent(
            f"The SMTP server {smtp.where} refused the EHLO name the responder gave: {failure.smtp_code}"
            f" {shown_reply(failure.smtp_error)}. Set smtp_ehlo_name to a name the server takes (the fully qualified"
            " name of Cortex's host, or one the server's administrator allows)."
        )
    if (
        isinstance(failure, smtplib.SMTPConnectError)
        and replies.meaning(replies.SENDER, failure.smtp_code, reply_text(failure.smtp_error)) == replies.CLIENT_RATE
    ):  # at the greeting: Postfix's connection rate or count
        reply = f"{failure.smtp_code} {shown_reply(failure.smtp_error)}"
        return Permanent(client_rate(f"The SMTP server {smtp.where}", reply))
    # At the greeting, this client refused whoever the reporter: Postfix's postscreen, a DNS blocklist, an access list.
    if isinstance(failure, smtplib.SMTPConnectError) and failure.smtp_code >= 500:
        reply = f"{failure.smtp_code} {shown_reply(failure.smtp_error)}"
        return Permanent(
            f"The SMTP server {smtp.where} refused this client at its greeting ({reply}). {client_advice(reply)}"
        )
    if isinstance(failure, smtplib.SMTPResponseException) and failure.smtp_code >= 500:
        return Permanent(
            f"The SMTP server {smtp.where} answered {failure.smtp_code} {shown_reply(failure.smtp_error)}. Check"
            " smtp_host, smtp_port and smtp_security; the server's log says why it refused."
        )
    return None


def client_advice(reply: str) -> str:
    """What to change when the server refuses this client rather than a reporter: its name, or its host."""
    if "helo" in reply.lower():
        return (
            "Set smtp_ehlo_name to a name the server takes (the fully qualified name of Cortex's host, or one the"
            " server's administrator allows: Postfix checks it with smtpd_helo_restrictions when the first recipient"
            " comes)."
        )
    return (
        "Have the server take mail from Cortex's host (Postfix: smtpd_client_restrictions; mynetworks, or a reverse"
        " DNS name for Cortex's address)."
    )


def client_rate(name: str, reply: str) -> str:
    """A server (`name`, as the sentence begins) past its rate for this client, counted over a minute or more
    (Postfix's anvil): no pause within the job's back-off lifts it, and each try adds to the count. The parameter
    named is the one the reply is of."""
    said = reply.lower()
    parameter = next((p for words, p in _CLIENT_RATES if words in said), "smtpd_client_message_rate_limit and its kin")
    return (
        f"{name} limits what this client sends in a time ({reply}): nothing more went out in this"
        f" job. Set smtp_max_per_minute below the server's rate (Postfix: {parameter}, per anvil_rate_time_unit), then"
        " run the responder again: it mails only those not reached."
    )


# Which of Postfix's anvil limits a reply is of, by its words.
_CLIENT_RATES = (
    ("too many recipients", "smtpd_client_recipient_rate_limit"),
    ("too much mail", "smtpd_client_message_rate_limit"),
    ("too many connections", "smtpd_client_connection_rate_limit or smtpd_client_connection_count_limit"),
)


def no_greeting(smtp: SmtpSettings, timeout: float) -> str:
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
    if isinstance(cause, RepliedEarly):
        return f"{where} replied before the message was sent, out of step with SMTP, so the message was not sent"
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
