"""Who the messages did not reach, and why, in the analyst's words: a reporter's failure, and the sentence a job that
has nothing to record ends with."""

from __future__ import annotations

from feedback.errors import PhishFeedbackError, named
from feedback.shapes import shape

# What to do where the mail service refused an address itself: a rerun alone meets the same refusal.
CHECK_REFUSED = (
    "Check the addresses the mail service refused (a typo in a tag, a mailbox that is gone), then run the responder"
    " again"
)


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
    the addresses are worth checking only when the service said something of them, not for a closed port, and they
    alone where it refused every one (the server answered: its host and port are not in question)."""
    clauses = sorted({f.reason for f in failed if not f.whole})
    sentences = sorted({f.reason for f in [*failed, *unsure] if f.whole})
    if all(f.refused for f in failed) and not unsure:
        advice = CHECK_REFUSED
    elif turned_away:
        # Its own sentence: the transport's advice may be several, where a clause would dangle after the last.
        advice += ". Check too that the mail service accepts the reporters' addresses"
    none = "No feedback is known to have been sent" if unsure else "No feedback was sent"
    told = f"{none}: {named(clauses, str)}. {advice}." if clauses else f"{none}."
    return " ".join((told, *sentences))
