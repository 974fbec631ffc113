"""What an SMTP server's refusal means for the rest of the job.

The same code means different things at different steps: a 4xx to RCPT TO concerns one reporter
(greylisting), a 4xx to MAIL FROM concerns every message (the sender is always the same), a 421
ends the session wherever it comes. A quota reply is read from its words, whatever its code: past a
quota nothing more goes out until it resets, so the job stops and the next run goes on
(feedback/quota.py, which also removes the addresses a reply quotes before its words are read).
"""

from __future__ import annotations

import re

from feedback.quota import speaks_of_quota, words

SENDER, RECIPIENT, MESSAGE = "sender", "recipient", "message"

QUOTA = "quota"  # the mailbox may send no more for now: stop, the next run goes on
CLOSED = "closed"  # 421: the server ends the session; reconnect and go on
THROTTLED = "throttled"  # a 4xx to MAIL FROM: pause, reconnect and go on
CLIENT_RATE = "client rate"  # past the server's rate for this client, counted over a minute or more: stop
DEFERRED = "deferred"  # a 4xx about this message or recipient: try it later, go on with the others
REFUSED = "refused"  # a 5xx about this message or recipient: final for this reporter
SENDER_REFUSED = "sender refused"  # a 5xx to MAIL FROM, or about the sender later: final for everyone
TOO_LARGE = "too large"  # the message is over the server's size limit: so is every other, final for everyone
CLIENT_REFUSED = "client refused"  # a 5xx to this client's name or host, whatever the step: final for everyone

# Enhanced status codes (RFC 3463) whose quota words are not about the sender: X.2.2 a recipient's
# mailbox is full ("over quota"), X.3.4 the message is larger than the server takes.
_NOT_THE_SENDERS = r"^\s*[45]\.(2\.2|3\.4)\b"
# ...and those that are about the sender at whatever step they come: X.1.7 and X.1.8, the sender's address
# ("550 5.1.8 Access denied, bad outbound sender": Microsoft 365 has blocked the mailbox from sending).
_THE_SENDERS = r"^\s*5\.1\.[78]\b"
# Postfix's refusal of the sender, at RCPT TO unless smtpd_delay_reject is off: "553 5.7.1 <soc@example.org>:
# Sender address rejected: not owned by user alice" (reject_sender_login_mismatch).
_SENDER_REJECTED = r"(?i)sender address rejected"
# A recipient's full mailbox, in words, where a server gives no X.2.2 ("552 Mailbox quota exceeded"): after
# MAIL FROM, about the reporter the message is for, unless it speaks of sending.
_A_MAILBOX = r"(?i)\b(mailbox|inbox|over\s+quota|disk\s+quota|storage)\b"
_SENDING = r"(?i)\b(send\w*|submission\w*|outbound|daily|rate)\b"
# Postfix past a client rate of its anvil (smtpd_client_recipient_rate_limit, smtpd_client_message_rate_limit),
# counted over anvil_rate_time_unit (a minute unless set): "450 4.7.1 Error: too many recipients from 192.0.2.7".
# About the client, not the reporter it comes to, and no pause within the back-off lifts it.
# Postfix names itself before the words of its connection rate: "421 4.7.0 mx.example.org Error: too many connections".
_CLIENT_RATE = r"^\s*4\.7\.\d{1,3}\s+(?:\S+\s+)?Error: too (many \w+|much mail) from\b"
# Postfix's HELO and client restrictions, which it applies when the first recipient comes (smtpd_delay_reject):
# "554 5.7.1 <cortex.example.net>: Helo command rejected: …", "Client host rejected: …". About this client, so every
# reporter alike.
_CLIENT_REJECTED = r"(?i)\b(helo command|client host) rejected\b"
# X.3.4: the message is larger than the server takes (Postfix's message_size_limit, at MAIL FROM for the
# SIZE= smtplib announces, or at the end of the message).
_TOO_LARGE = r"^\s*5\.3\.4\b"


def is_quota(code: int, text: str, step: str = SENDER) -> bool:
    """Whether a refusal at `step` speaks of the sender's quota, not of a recipient's full mailbox (X.2.2, or in
    words after MAIL FROM) nor of the message's size (X.3.4)."""
    said = words(text)
    if code < 400 or not speaks_of_quota(text) or re.match(_NOT_THE_SENDERS, said):
        return False
    return step == SENDER or not (re.search(_A_MAILBOX, said) and not re.search(_SENDING, said))


def meaning(step: str, code: int, text: str, sender: str = "") -> str:
    """One of the meanings above, for a refusal at `step` (SENDER, RECIPIENT or MESSAGE) of mail from `sender`."""
    said = words(text)
    if is_quota(code, text, step):
        return QUOTA
    if 400 <= code < 500 and re.match(_CLIENT_RATE, said):
        return CLIENT_RATE
    if code == 421:
        return CLOSED
    if code >= 500 and (re.match(_TOO_LARGE, said) or (step == SENDER and code == 552)):
        return TOO_LARGE
    if re.search(_CLIENT_REJECTED, said):
        return CLIENT_REFUSED if code >= 500 else THROTTLED
    if step == SENDER:
        return SENDER_REFUSED if code >= 500 else THROTTLED
    if _about_the_sender(code, text, said, sender):
        # The sender refused after MAIL FROM (Exchange's SendAsDenied at the end of a message, its 5.1.8 and
        # Postfix's "Sender address rejected" to RCPT TO): every message would be refused alike.
        return SENDER_REFUSED if code >= 500 else THROTTLED
    return REFUSED if code >= 500 else DEFERRED


def worded_for_good(code: int, text: str) -> str | None:
    """What a 4xx says that only a 5xx should, SENDER_REFUSED or TOO_LARGE: Postfix's soft_bounce (on while a relay is
    set up) turns its refusals into 4xx, which are tried again, and the analyst must still learn what to change."""
    said = words(text)
    if not 400 <= code < 500:
        return None
    if re.search(_SENDER_REJECTED, said):
        return SENDER_REFUSED
    return TOO_LARGE if re.match(r"^\s*4\.3\.4\b", said) else None


def _about_the_sender(code: int, text: str, said: str, sender: str) -> bool:
    if re.search(_SENDER_REJECTED, said):
        return True
    quotes_the_sender = bool(sender) and sender.lower() in re.findall(r"<([^>]*)>", text.lower())
    if quotes_the_sender and re.match(r"^\s*[45]\.7\.1\b", said):
        return True
    return code >= 500 and ("SendAsDenied" in said or bool(re.match(_THE_SENDERS, said)))
