"""Who the messages did not reach, and why, in the analyst's words: a reporter's failure, and the sentence a job that
has nothing to record ends with."""

from __future__ import annotations

from feedback.errors import PhishFeedbackError, named
from feedback.shapes import shape


class DeliveryError(PhishFeedbackError):
    """No message could be delivered; the message says what failed and what to check."""


@shape
class Failure:
    address: str
    reason: str
    whole: bool  # the reason is whole sentences, its advice among them; else a clause the summary completes
    refused: bool  # the service refused this address itself (an unknown mailbox): worth checking before a new run


def unworded(error: OSError, name: str) -> str:
    """Trouble no transport worded (a transport may leave the HTTP client's failures as they come)."""
    return f"the connection to {name} failed ({getattr(error, 'strerror', None) or type(error).__name__})"


def after_attempts(failure: Failure, attempts: int) -> Failure:
    """The failure and how often it was tried: in a sentence of its own after whole sentences."""
    tried = f" Attempts: {attempts}." if failure.whole else f" (after {attempts} attempt(s))"
    return Failure(failure.address, failure.reason + tried, failure.whole, failure.refused)


def unrecorded(failed: list[Failure], unsure: list[Failure], advice: str, turned_away: bool) -> str:
    """The clauses in one sentence, completed by the transport's advice, then the reasons that are whole sentences;
    the addresses are worth checking only when the service said something of them, not for a closed port."""
    clauses = sorted({f.reason for f in failed if not f.whole})
    sentences = sorted({f.reason for f in [*failed, *unsure] if f.whole})
    addresses = ", and that it accepts the reporters' addresses" if turned_away else ""
    none = "No feedback is known to have been sent" if unsure else "No feedback was sent"
    told = f"{none}: {named(clauses, str)}. {advice}{addresses}." if clauses else f"{none}."
    return " ".join((told, *sentences))
