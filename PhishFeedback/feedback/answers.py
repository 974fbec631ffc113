"""What a way out (SMTP, Microsoft Graph, the Gmail API) tells the delivery policy about one message.

Each service words its replies its own way; each transport turns them into one of these answers, so
that who is pending, sent, failed, retried and paced is decided once, in the delivery policy
(feedback/delivery.py), whatever the service. Adding a service means one transport module.
"""

from __future__ import annotations

from feedback.errors import PhishFeedbackError
from feedback.redaction import shortened
from feedback.shapes import shape

ACCEPTED = "accepted"  # the service took the message: it counts as sent, and is recorded
REFUSED = "refused"  # final for this reporter only (an unknown or invalid recipient): the others go on
DEFERRED = "deferred"  # this reporter's message only, for now (greylisting): tried again later, others go on
RECONNECT = "reconnect"  # the channel is over or throttled: pause (`after` s, else the back-off), then go on
STOP = "stop"  # nothing more goes out in this job (a quota, a refused sender, missing rights): `reason` says why


class Permanent(PhishFeedbackError):
    """Raised by a transport when trying again will not help: the reason goes to every message still waiting."""


@shape
class Answer:
    kind: str  # one of the five above
    reason: str  # for the analyst: what the service answered, and what to check; "" when accepted
    after: float | None  # RECONNECT: the service's own wait (Retry-After), None for the policy's back-off


# The answer for every message a service took: it says nothing more.
TAKEN = Answer(ACCEPTED, "", None)


def not_the_service(name: str, status: int, content_type: str | None, expected: str, check: str) -> Answer:
    """A 2xx in another shape than the service's success (`expected`): something between Cortex and the service, a
    proxy's block page say, answered in its place, so the message did not go; `check` names the items."""
    what = f"HTTP {status}" + (f", {shortened(content_type, 60)}" if content_type else "")
    return Answer(
        STOP,
        f"{name} answered {what}, which is not its answer to a message ({expected}): something between Cortex and"
        f" it, a proxy's block page say, answered in its place, and the message is not counted as sent. Check {check}"
        " and Cortex's proxy settings.",
        None,
    )
