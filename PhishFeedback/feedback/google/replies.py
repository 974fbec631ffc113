"""Gmail's replies to a send, read as the delivery policy's answers (feedback/way_out.py), with what to do in words.

Pure: the status, Google's JSON error ({"error": {"code", "message", "errors": [{"reason"}], "status"}})
and Retry-After in, one Answer out. Gmail tells the mailbox's daily sending limit as a rate limit
(429 "User-rate limit exceeded … (Mail sending)") whose retry time is hours away: a wait that
outlasts the job is a quota, and stops it.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

from feedback.google.token import KEY_ITEM, SCOPE, ServiceAccount, delegation_advice
from feedback.redaction import scrub, shortened
from feedback.retry_after import retry_after, wait_until
from feedback.way_out import RECONNECT, REFUSED, TAKEN, Answer, not_the_service, stop


class Sender(Protocol):
    """What a refusal is worded from: the Gmail transport that met it (read here, never imported: it imports this)."""

    name: str
    mailbox: str
    deadline: float
    account: ServiceAccount


RATE_LIMITS = ("rateLimitExceeded", "userRateLimitExceeded")
LIMITS = "Google Workspace takes 2,000 messages a day per user (500 in trial accounts) and 10,000 recipients a day"


def success(status: int, body: object, content_type: str | None, transport: Sender, cut: bool = False) -> Answer:
    """A 2xx: the message is accepted when the answer is the Gmail API's, the sent message's `id` in JSON (or an
    answer cut short after the status that is not said to be other than JSON, as every HTTP way out reads it:
    feedback/http_way_out.py); anything else is something between Cortex and Google answering in its place."""
    if (isinstance(body, dict) and isinstance(body.get("id"), str)) or cut:
        return TAKEN
    return not_the_service(transport.name, status, content_type, "the sent message's id in JSON", "gmail_url")


def refusal(status: int, body: object, wait_header: str | None, transport: Sender, recipient: str) -> Answer:
    """Gmail's refusal of one send, as the delivery policy's answer: a 5xx or a 408 is worth a new channel."""
    reason, message = google_error(body)
    said = described(status, reason, message)
    where = transport.name
    if status >= 500 or status == 408:
        return Answer(RECONNECT, f"the last answer from {where} was {said}", retry_after(wait_header))
    limited = status == 429 or (status == 403 and reason in RATE_LIMITS)
    wait = _wait(wait_header, message) if limited else None
    # Gmail answers the mailbox's sending limit with 429 "User-rate limit exceeded … (Mail sending)", for hours.
    beyond = (wait is None and "(Mail sending)" in message) or (
        wait is not None and time.monotonic() + wait > transport.deadline
    )
    lowered = message.lower()
    if (
        reason == "dailyLimitExceeded"
        or "sending limit" in lowered
        or "sending quota" in lowered
        or (limited and beyond)
    ):
        return stop(_quota(transport, said, wait))
    if limited:
        return Answer(RECONNECT, f"{where} asked to slow down ({said})", wait)
    if status == 400 and reason == "failedPrecondition":
        return stop(
            f"{where} refused to send as {transport.mailbox} ({said}): the mailbox in 'from' cannot use Gmail. A"
            " Workspace admin turns Gmail on for that user (a licence with Gmail), or sets 'from' to one who has it."
        )
    if status == 400:
        return Answer(REFUSED, f"{where} refused the message to {recipient}: {said}", None)
    return stop(f"{where} refused to send as {transport.mailbox} ({said}). {_advice(status, reason, transport)}")


def _quota(transport: Sender, said: str, wait: float | None) -> str:
    if wait is None:
        when = "once the limit resets (Gmail counts a rolling 24 hours)"
    else:
        when = (
            f"after {datetime.now(timezone.utc) + timedelta(seconds=wait):%Y-%m-%d %H:%M} UTC, when Google takes more"
        )
    return (
        f"{transport.name} answered that {transport.mailbox} reached a sending limit ({said}); nothing more went out"
        f" in this job. Run the responder again {when}: it mails only those not reached ({LIMITS}; pace the"
        " messages with smtp_max_per_minute)."
    )


def _advice(status: int, reason: str, transport: Sender) -> str:
    if reason == "accessNotConfigured" or reason == "SERVICE_DISABLED":
        return (
            "Enable the Gmail API in the Google Cloud project of the service account (APIs & Services → Library →"
            " Gmail API → Enable), then wait a few minutes."
        )
    if reason == "insufficientPermissions":
        return (
            f"The token lacks the scope gmail.send: in the Admin console's domain-wide delegation the client ID"
            f" {transport.account.client_id} must have {SCOPE}."
        )
    if status == 401:
        return f"Google refused the job's own token: check {KEY_ITEM} and the domain-wide delegation."
    if status == 403:
        delegation = delegation_advice(transport.account)
        return f"'from' must be a user of the Workspace domain that delegated to the service account. {delegation}"
    if status == 404:
        return "Check gmail_url (https://gmail.googleapis.com) and 'from'."
    return "Check gmail_url (https://gmail.googleapis.com) and Cortex's proxy settings."


def google_error(body: object) -> tuple[str, str]:
    """Google's error as (reason, message): {"error": {"code", "message", "errors": [{"reason"}], "status"}}, its
    status the reason where it names none."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    errors = error.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    reason = first.get("reason") or error.get("status") or ""
    return shortened(str(reason), 60), shortened(str(error.get("message") or ""), 300)


def described(status: int, reason: str, message: str) -> str:
    """The status, Google's reason and message, as the analyst reads them."""
    return scrub(
        " ".join(part for part in (f"HTTP {status}", f"{reason}:" if reason else "", message) if part).rstrip(":")
    )


def _wait(wait_header: str | None, message: str) -> float | None:
    """Seconds Google asks to wait: Retry-After (feedback/retry_after.py), else the "Retry after <time>" in its
    message; None (the policy's back-off) when neither can be read."""
    wait = retry_after(wait_header)
    _, found, rest = message.partition("Retry after ")
    if wait is not None or not found:
        return wait
    try:
        return wait_until(datetime.fromisoformat(rest.split()[0].replace("Z", "+00:00")))
    except (IndexError, ValueError):
        return None
