"""The Gmail API as a way out: each message POSTed to users/{from}/messages/send, each reply read as an Answer.

One kept-alive HTTPS connection (the session of feedback/api_session.py) carries a job's messages, through
Cortex's proxy, trusting the system store plus `cacerts`. Who is pending, retried or paced is the delivery
policy's business (feedback/delivery.py); feedback/google/replies.py reads Google's replies as the
answers of feedback/way_out.py. This module is imported by Gmail jobs only.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from urllib.parse import quote

from feedback.alarm import BudgetSpent, Clock, timeout_within
from feedback.api_session import open_session
from feedback.google.replies import LIMITS, refusal, success
from feedback.google.settings import GmailSettings
from feedback.google.token import request_token
from feedback.http_way_out import Reply, post_message, trouble
from feedback.pacing import Limits
from feedback.tokens import OAuthError, Token, TokenSource
from feedback.way_out import Answer, Check, Drops, Permanent, Transport

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from feedback.google.mailbox_language import GmailLanguages

# Gmail answers a send with about 100 bytes, an error with under 2 kB.
LARGEST_ANSWER = 64 * 1024


class GmailTransport(Transport, TokenSource):
    """What a job needs to send as `mailbox`: the account, the trust, and the one token it gets."""

    advice = "Check gmail_url (leave its default), that Cortex can reach it, and Cortex's proxy settings"
    url_advice = "Check gmail_url (leave its default)."

    def __init__(self, gmail: GmailSettings, mailbox: str, deadline: float) -> None:
        self.account, self.reach, self.mailbox, self.deadline = gmail.service_account, gmail.reach, mailbox, deadline
        self.context = gmail.reach.context()
        self.root = gmail.url.rstrip("/")
        self.name = f"the Gmail API at {self.root}"
        self.sent_record = f"the Sent folder of {mailbox}"
        self.drops = Drops()
        self.send_url = f"{self.root}/gmail/v1/users/{quote(mailbox, safe='@')}/messages/send"
        self.session = None  # the open channel's, over which a token is asked for

    def channel(self) -> _Channel:
        return _Channel(self)

    def check(self, recipients: list[str], limits: Limits) -> Check:
        """The dry run: a token and nothing else, since gmail.send reads nothing; what only a send would tell."""
        try:
            with self.channel():
                pass
        except OSError as failure:  # the client's failures are OSErrors
            raise Permanent(f"The dry run could not get a token from Google: {failure}") from None
        sentence = (
            f"The dry run got a token to send as {self.mailbox} with the scope gmail.send and sent nothing through"
            f" {self.name}. It cannot check what only a send shows: that the mailbox may use Gmail, its daily"
            f" sending limit ({LIMITS}), and each reporter's address."
        )
        return Check((), (sentence,))

    def languages(self, cutoff: float) -> GmailLanguages:
        """Asked with a token for each reporter, as the delegation allows; loaded by `language: auto` jobs only."""
        from feedback.google.mailbox_language import GmailLanguages

        return GmailLanguages(self.account, self.context, self.reach, self.root, cutoff)

    def timeout_now(self) -> float:
        return timeout_within(self.reach.timeout, self.deadline)

    def answer(self, reply: Reply, recipient: str) -> Answer:
        """The policy's answer to Gmail's reply (feedback/google/replies.py): a 2xx is the message accepted when it is
        the Gmail API's answer, even cut short after its status."""
        if 200 <= reply.status < 300:
            return success(reply.status, reply.body, reply.headers.get("Content-Type"), self, cut=reply.cut)
        return refusal(reply.status, reply.body, reply.headers.get("Retry-After"), self, recipient)

    def request_token(self) -> Token:
        return request_token(self.session, self.account, self.mailbox, self.timeout_now())


class _Channel:
    """One session for the job's messages, cut at the deadline whatever the server does.

    A class rather than a generator under contextlib's decorator, as feedback/smtp/session.py explains.
    """

    def __init__(self, transport: GmailTransport) -> None:
        self.transport = transport
        self.clock = Clock(transport.deadline)
        self.session = None

    def __enter__(self) -> _Channel:
        self.clock.__enter__()
        try:
            self.session = self.transport.session = open_session(
                self.transport.context, self.transport.reach.proxies, clock=self.clock
            )
            self._token()
        except BaseException as failure:
            self.__exit__(type(failure), failure, failure.__traceback__)
            raise
        return self

    def __exit__(self, kind: type | None, failure: BaseException | None, trace: object) -> None:
        try:
            if self.session is not None:
                self.session.close()
        finally:
            self.clock.__exit__(None, None, None)
        if isinstance(failure, OSError):  # the client's failures are OSErrors
            raise trouble(failure, self.transport) from None

    def send(self, message: EmailMessage, recipient: str) -> Answer:
        """One message to its one recipient, and what Gmail made of it; trouble on the way is raised as OSError."""
        transport = self.transport
        token = self._token()
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")
        self._in_time()
        request = {"json": {"raw": raw}, "headers": {"Authorization": f"Bearer {token}"}}
        return post_message(
            transport, recipient, self.session, transport.send_url, LARGEST_ANSWER, transport.timeout_now(), **request
        )

    def _token(self) -> str:
        """The job's token, asked for once, and again only by a job that outlives it."""
        self._in_time()
        try:
            return self.transport.bearer()
        except OAuthError:
            if self.clock.out():
                raise OAuthError(
                    "The job's time budget ran out while asking Google's token endpoint for a token;"
                    " nothing more went out."
                ) from None
            raise

    def _in_time(self) -> None:
        if self.clock.out():
            raise BudgetSpent(f"the job's time budget ran out while waiting for {self.transport.name}")
