"""What every way out through an HTTP API shares (Microsoft Graph, the Gmail API): one POST of a message, whose 2xx
counts even when the rest of its answer is lost and whose lost answer is never a reason to send it again, and each
failure on the way put in its one sentence.

Each service reads its own replies (`answer(reply, recipient)` on its transport); what lies between the request and
a reply is said here once, so that every HTTP way out words it alike. Loaded by the jobs that send over HTTP only.
"""

from __future__ import annotations

import time

from feedback.http_exchange import Session, post
from feedback.http_failures import (
    CutShort,
    HttpFailure,
    Malformed,
    Redirected,
    TimedOut,
    TooLarge,
    Unreachable,
    Unreadable,
    Untrusted,
)
from feedback.shapes import shape
from feedback.way_out import Answer, Drops, Permanent, Trouble, unsure

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from email.message import EmailMessage
    from typing import Protocol

    class HttpService(Protocol):
        """What the sentences of an HTTP way out name: its transport's `name` and `advice`, and more."""

        name: str
        advice: str
        url_advice: str  # what to check of its URL when it redirects ("Check graph_url: …")
        sent_record: str
        deadline: float
        drops: Drops

        def answer(self, reply: Reply, recipient: str) -> Answer: ...

    class SessionService(HttpService, Protocol):
        """A service sent to over the job's one session (`SessionChannel`): what its channel asks of it."""

        session: Session | None

        def connect(self) -> None: ...

        def post(self, message: EmailMessage, recipient: str) -> Answer: ...


@shape
class Reply:
    """A service's reply to one message."""

    status: int
    headers: dict[str, str]
    body: object  # its JSON value; None when empty, or read without it (cut short, too large or not JSON)
    cut: bool  # the status came, and the rest of the answer, not said to be other than JSON, broke off
    foreign: bool  # a body that is no JSON (whole, or said so and cut short), or too large: a page of another party


def post_message(
    service: HttpService, recipient: str, session: Session, url: str, limit: int, timeout: float, **request
) -> Answer:
    """The service's answer to one message (its `answer` reads the reply). A request that went whole and got no answer
    in time is UNSURE: the message may have gone, and is not sent again in this job; so is one answered in a way that
    could not be read, and one whose connection the service closed without an answer a second time (`Drops`)."""
    try:
        reply = _posted(session, url, limit, timeout, **request)
    except TimedOut as late:
        if not late.sent:
            raise
        spent = time.monotonic() >= service.deadline
        said = "the job's time budget ran out before it answered" if spent else late.told()
        return unsure(service.name, said, service.sent_record)
    except Unreadable as misread:  # the service answered the whole message
        return unsure(service.name, misread.told(), service.sent_record)
    except Unreachable as lost:
        if not (lost.sent and service.drops.again(recipient)):
            raise
        return unsure(service.name, Drops.ended, service.sent_record)
    return service.answer(reply, recipient)


def _posted(session: Session, url: str, limit: int, timeout: float, **request) -> Reply:
    """The service's reply to one message, JSON asked for; a 2xx that broke off after its status is one (the service
    took the message), and so is an answer too large or not JSON, read without its body. Any other failure is raised,
    an OSError, which `trouble` words."""
    try:
        status, headers, body = post(session, url, limit, timeout, decoded=True, **request)
    except (CutShort, TooLarge, Malformed) as partial:
        if isinstance(partial, CutShort) and not 200 <= partial.status < 300:
            raise
        # A body cut short that says it is no JSON is a page, as it would be whole (a proxy's, in the service's place).
        cut = isinstance(partial, CutShort) and "json" in (partial.headers.get("Content-Type") or "json")
        return Reply(partial.status, partial.headers, None, cut, not cut)
    return Reply(status, headers, body, False, False)


def trouble(failure: OSError, service: HttpService) -> Exception:
    """A request that failed on the way, in its one sentence: an untrusted certificate or a redirect is final for the
    job (`Permanent`); the rest is worth another channel (`Trouble`)."""
    name = service.name
    if isinstance(failure, Trouble):  # already in words (a token's renewal that failed for now)
        return failure
    if isinstance(failure, Untrusted):
        return Permanent(failure.sentence(name))
    if isinstance(failure, Redirected):
        return Permanent(failure.sentence(name, service.url_advice))
    if time.monotonic() >= service.deadline:
        return Trouble(f"the job's time budget ran out while waiting for {name}")
    if not isinstance(failure, HttpFailure):
        return Trouble(f"the connection to {name} failed ({type(failure).__name__})")
    return Trouble(failure.sentence(name, f"{service.advice}."), whole=True)


class SessionChannel:
    """A channel over the job's one session, which `connect()` opens (a token first, where the service asks for one)
    and `post()` sends over; after trouble its connection is dropped, and the next channel opens a new one. For a
    service whose campaign goes over one kept-alive connection, as Graph's does."""

    def __init__(self, service: SessionService) -> None:
        self.service = service

    def __enter__(self) -> SessionChannel:
        self.service.connect()
        return self

    def __exit__(self, kind: type | None, failure: BaseException | None, trace: object) -> None:
        if isinstance(failure, OSError):  # the client's failures are OSErrors
            if self.service.session is not None:
                self.service.session.close()
            raise trouble(failure, self.service) from None

    def send(self, message: EmailMessage, recipient: str) -> Answer:
        return self.service.post(message, recipient)
