"""Asking a mail service for a mailbox's language setting (Graph's mailboxSettings, Gmail's settings), for `auto`.

The setting needs a permission the admin may well not have granted, so every way the question
fails is `Unavailable`, with the sentence the job's one warning carries (feedback/reporter_facts.py).
"""

from __future__ import annotations

from collections.abc import Callable

from feedback.http_exchange import Session, exchange
from feedback.http_failures import HttpFailure, Malformed, TooLarge, Untrusted
from feedback.redaction import shortened
from feedback.shapes import shape

# A mail service's answer about one setting is under 200 bytes.
LARGEST_ANSWER = 64 * 1024


class Unavailable(Exception):
    """A mail service gives no more mailbox languages in this job: the text says why, and what would give them."""


@shape
class Service:
    """How a mail service is named in a warning, and how its answer about a mailbox's language reads."""

    where: str  # "Microsoft Graph at https://…"
    setting: str  # what it is asked for, in words: "mailbox language"
    field: str  # the answer's key that holds the language
    said: Callable[[object], str | None]  # the service's own error code in an error answer, if any
    advice: str  # what would let the job read the setting


def asked(
    session: Session, url: str, timeout: float, headers: dict[str, str], service: Service, address: str
) -> str | None:
    """The language a mail service gives for `address` (None where it knows no such user), else Unavailable.

    The answer is read within LARGEST_ANSWER bytes and bounded_json's depth by the client, and what the service
    says goes into the warning shortened and scrubbed, as every outside answer. A refusal or an unknown user
    is read from the status, whatever the body holds.
    """
    about = f"the {service.setting} of {address}"
    unread = f"The {service.setting} of {address} was not read."
    try:
        status, _, answer = exchange(session, "GET", url, LARGEST_ANSWER, timeout, headers=headers, decoded=True)
    except (Malformed, TooLarge) as failure:
        if failure.status not in (401, 403, 404):
            raise Unavailable(f"{failure.sentence(service.where, '')} {unread}") from None
        status, answer = failure.status, None
    except HttpFailure as failure:
        advice = None if isinstance(failure, Untrusted) else ""
        raise Unavailable(f"{failure.sentence(service.where, advice)} {unread}") from None
    code = service.said(answer)
    said = f"HTTP {status} {shortened(code, 60)}" if code else f"HTTP {status}"
    if status in (401, 403):
        raise Unavailable(f"{service.where} refused to read {about} ({said}). {service.advice}")
    if status == 404:
        return None
    language = answer.get(service.field) if isinstance(answer, dict) else None
    if status != 200 or not isinstance(language, str):
        said = said if status != 200 else f"an answer without a {service.field}"
        raise Unavailable(f"{service.where} did not give {about} ({said}). {service.advice}")
    return language
