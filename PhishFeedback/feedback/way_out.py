"""The contract between the delivery policy and each way out (SMTP, Microsoft Graph, the Gmail API).

A transport opens channels, answers each message with one `Answer`, and says what a dry run can
check; each service words its replies its own way, and its transport turns them into these answers,
so that who is pending, sent, failed, retried and paced is decided once, in the delivery policy
(feedback/delivery.py), whatever the service. Adding a service means one transport module that
subclasses `Transport` (docs/development.md, "Adding a way out").
"""

from __future__ import annotations

from feedback.errors import PhishFeedbackError
from feedback.redaction import shortened
from feedback.shapes import shape

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from email.message import EmailMessage
    from typing import Protocol

    from feedback.reach import Reach

    class Languages(Protocol):
        """A service's look-up of its mailboxes' languages, entered around the look-ups of one job."""

        def __enter__(self) -> Languages: ...

        def __exit__(self, *exc: object) -> None: ...

        def language(self, address: str) -> str | None: ...

    class Channel(Protocol):
        """One session or connection a transport's `channel()` opened (see `Transport`), entered around its sends."""

        def __enter__(self) -> Channel: ...

        def __exit__(self, *exc: object) -> None: ...

        def send(self, message: EmailMessage, recipient: str) -> Answer: ...


ACCEPTED = "accepted"  # the service took the message: it counts as sent, and is recorded
REFUSED = "refused"  # final for this reporter only (an unknown or invalid recipient): the others go on
DEFERRED = "deferred"  # this reporter's message only, for now (greylisting): tried again later, others go on
RECONNECT = "reconnect"  # the channel is over or throttled: pause (`after` s, else the back-off), then go on
STOP = "stop"  # nothing more goes out in this job (a quota, a refused sender, missing rights): `reason` says why
# The service had the whole message and gave no answer: it may have gone out, so it is neither counted as sent nor
# tried again in this job (the next run's, after a look at the `sent_record`); the channel is over.
UNSURE = "unsure"


class Permanent(PhishFeedbackError):
    """Raised by a transport when trying again will not help: its reason, whole sentences with their advice, goes to
    every message still waiting."""


@shape
class Answer:
    """What became of one message. Its `reason` is for the analyst, "" when accepted: a STOP's or an UNSURE's is whole
    sentences that carry their own advice (`stop`, `unsure` make them); the others' a clause, to which the policy adds
    how often it was tried and the transport's `advice`."""

    kind: str  # one of the six above
    reason: str
    after: float | None  # RECONNECT: the service's own wait (Retry-After), None for the policy's back-off


# The answer for every message a service took: it says nothing more.
TAKEN = Answer(ACCEPTED, "", None)


def stop(sentences: str) -> Answer:
    """A STOP, whose reason is whole sentences, advice included, beginning with a capital whatever the service's name
    (the Gmail API's begins with "the"): the analyst reads them after "No feedback was sent."."""
    return Answer(STOP, _begun(sentences), None)


def unsure(name: str, what_happened: str, sent_record: str) -> Answer:
    """The answer for a message `name` had whole and did not answer: `what_happened` says how it ended."""
    return Answer(
        UNSURE,
        _begun(
            f"{name} had the whole message but {what_happened}: it may have gone out all the same, and is neither"
            f" counted as sent nor sent again in this job. Look in {sent_record} before running the responder again."
        ),
        None,
    )


class Drops:
    """Whose message a service had whole and then closed the connection on without a word: most likely lost, so sent
    once more; the second time, the service may keep each copy it never answers for, and the message is UNSURE
    (docs/exactly-once.md). One for a job, whatever channels it opens."""

    ended = "closed the connection without answering, for the second time"

    def __init__(self) -> None:
        self.once: set[str] = set()

    def again(self, recipient: str) -> bool:
        """Whether the recipient's message was dropped so before; it is noted now."""
        if recipient in self.once:
            return True
        self.once.add(recipient)
        return False


def _begun(sentences: str) -> str:
    """Sentences that begin with a capital, whatever the service's name they begin with."""
    return sentences[:1].upper() + sentences[1:]


def not_the_service(name: str, status: int, content_type: str | None, expected: str, check: str) -> Answer:
    """A 2xx in another shape than the service's success (`expected`): something between Cortex and the service, a
    proxy's block page say, answered in its place, so the message did not go; `check` names the items."""
    what = f"HTTP {status}" + (f", {shortened(content_type, 60)}" if content_type else "")
    return stop(
        f"{name} answered {what}, which is not its answer to a message ({expected}): something between Cortex and"
        f" it, a proxy's block page say, answered in its place, and the message is not counted as sent. Check {check}"
        " and Cortex's proxy settings."
    )


# The limits SMTP relays and Graph meet most often, said beside their quota replies.
EXCHANGE_LIMITS = "Exchange Online takes 30 messages a minute and 10,000 recipients a day: see smtp_max_per_minute"


def quota_stop(name: str, reply: str, limits: str) -> Answer:
    """A service that answered with a sending quota: nothing more goes out, and the next run mails only those not
    reached; `limits`, what the service is known to take and the item that paces the job."""
    return stop(
        f"{name} answered with a sending quota ({reply}); nothing more went out in this job. Run the responder again"
        f" once the quota resets: it mails only those not reached ({limits})."
    )


class Trouble(OSError):
    """Transient trouble a transport has put in words already (a timeout, a dropped connection): a clause, which the
    policy completes with how often it was tried and the transport's `advice`; or, `whole`, sentences that carry
    their own advice."""

    def __init__(self, reason: str, *, whole: bool = False) -> None:
        super().__init__(reason)
        self.whole = whole


class Transport:
    """What every way out offers the policy; each transport module makes one, a subclass.

    - `name`: how the analyst's sentences name the service ("the SMTP server host:port").
    - `sent_record`: where the analyst sees what the service took ("the log of the SMTP server host:port"), to look
      before running again a job that was killed while sending.
    - `reach`: the job's one `Reach` (feedback/reach.py), as its settings hold it: whom TLS trusts, the proxies,
      and the wait for one answer, which a retry must leave room for.
    - `channel()`: a context manager opening one session or connection; the entered channel's
      `send(message, recipient)` returns an `Answer`. Raising `Permanent` ends the job's sending; an
      OSError (smtplib's and the HTTP client's exceptions are ones; `Trouble` when already worded) is trouble
      the policy retries with its bounded back-off.
    - `check(recipients, limits)`: what the dry run does: asks the service what it can without sending
      (over SMTP, the sender and each address; elsewhere a token) and returns a `Check`.
    - `advice`: what to check when no message went out, naming the items (a generic sentence here).
    - `languages(cutoff)`: for `language: auto`, where the service keeps each mailbox's language, the look-up that
      asks it until `cutoff`: entered, its `language(address)` gives the mailbox's language, None for a mailbox the
      service does not know, or raises `mailbox_settings.Unavailable` when the service gives no more in this job.
      None here: a service that keeps none (SMTP) needs nothing, and the reporters get the configured languages.
    """

    name: str
    sent_record: str
    reach: Reach
    advice = "Check that the service is up and accepts connections from Cortex, and Cortex's proxy settings"

    def languages(self, cutoff: float) -> Languages | None:
        return None


# A reporter the dry run could not ask about (its session ended, or the time budget did); else an answer's kind.
NOT_CHECKED = "not checked"


@shape
class Checked:
    """What the dry run learnt of one reporter's address: `status` accepted, refused, deferred or not checked."""

    address: str
    status: str
    reason: str  # the service's answer as a real run words it; "" when accepted


@shape
class Check:
    """The dry run's findings: each address asked about, and the sentences of what could not be checked."""

    checked: tuple[Checked, ...]
    unchecked: tuple[str, ...]
