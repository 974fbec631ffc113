"""The Gmail API as a way out: each message POSTed to users/{from}/messages/send, each reply read as an Answer.

One kept-alive HTTPS connection (a requests.Session) carries a job's messages, through Cortex's
proxy, trusting the system store plus `cacerts`. Who is pending, retried or paced is the delivery
policy's business (feedback/delivery.py): this module only words Google's replies as the answers
of feedback/answers.py. `requests` is imported on first use, and this module only by Gmail jobs.
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from feedback.alarm import BudgetSpent
from feedback.answers import ACCEPTED, RECONNECT, REFUSED, STOP, Answer
from feedback.api_session import Clock, Untrusted, json_value, open_session, post
from feedback.google_token import KEY_ITEM, SCOPE, ServiceAccount, delegation_advice, read_key, request_token
from feedback.items import WHERE, ConfigError
from feedback.oauth import Token
from feedback.redaction import scrub
from feedback.session import Permanent
from feedback.trust import trust_context

# Gmail answers a send with about 100 bytes, an error with under 2 kB.
LARGEST_ANSWER = 64 * 1024
RATE_LIMITS = ("rateLimitExceeded", "userRateLimitExceeded")
LIMITS = "Google Workspace takes 2,000 messages a day per user (500 in trial accounts) and 10,000 recipients a day"


def transport(
    service_account: str,
    mailbox: str,
    gmail_url: str,
    proxies: dict[str, str],
    cacerts: str | None,
    timeout: float,
    deadline: float,
) -> GmailTransport:
    """The job's way out through Gmail; a key or cacerts that cannot work is a ConfigError here, before any send."""
    if not gmail_url.startswith("https://"):
        raise ConfigError(f"gmail_url must be an https URL like https://gmail.googleapis.com. {WHERE}")
    return GmailTransport(
        read_key(service_account), mailbox, gmail_url, proxies, trust_context(cacerts), timeout, deadline
    )


class GmailTransport:
    """What a job needs to send as `mailbox`: the account, the trust, and the one token it gets."""

    def __init__(
        self, account: ServiceAccount, mailbox: str, gmail_url: str, proxies, context, timeout: float, deadline: float
    ) -> None:
        self.account, self.mailbox, self.proxies, self.context = account, mailbox, dict(proxies), context
        self.timeout, self.deadline = timeout, deadline
        root = gmail_url.rstrip("/")
        self.name = f"the Gmail API at {root}"
        self.send_url = f"{root}/gmail/v1/users/{quote(mailbox, safe='@')}/messages/send"
        self.token: Token | None = None

    def channel(self) -> Channel:
        return Channel(self)

    def check(self) -> list[str]:
        """The dry run: a token and nothing else, since gmail.send reads nothing; what only a send would tell."""
        try:
            with self.channel():
                pass
        except OSError as trouble:  # requests' exceptions are OSErrors
            raise Permanent(f"The dry run could not get a token from Google: {trouble}") from None
        return [
            f"The dry run got a token to send as {self.mailbox} with the scope gmail.send and sent nothing through"
            f" {self.name}. It cannot check what only a send shows: that the mailbox may use Gmail, its daily"
            f" sending limit ({LIMITS}), and each reporter's address."
        ]

    def timeout_now(self) -> float:
        """The configured timeout, or less when the job's deadline is nearer; never under a second."""
        return max(1.0, min(self.timeout, self.deadline - time.monotonic()))


class Channel:
    """One requests.Session for the job's messages, cut at the deadline whatever the server does.

    A class rather than a generator under contextlib's decorator, as feedback/session.py explains.
    """

    def __init__(self, transport: GmailTransport) -> None:
        self.transport = transport
        self.clock = Clock(transport.deadline)
        self.session = None

    def __enter__(self) -> Channel:
        self.clock.__enter__()
        try:
            self.session = open_session(self.transport.context, self.transport.proxies, self.clock)
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

    def send(self, message: EmailMessage, recipient: str) -> Answer:
        """One message to its one recipient, and what Gmail made of it; transient trouble is raised as OSError."""
        transport = self.transport
        token = self._token()
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")
        self._in_time()
        request = {"json": {"raw": raw}, "headers": {"Authorization": f"Bearer {token}"}}
        try:
            status, headers, body = post(
                self.session, transport.send_url, LARGEST_ANSWER, transport.timeout_now(), **request
            )
        except Untrusted:
            raise Permanent(
                f"The certificate of {transport.name} could not be verified. Put the CA that signed it (a company"
                " proxy's, if it inspects TLS) in Cortex's cacerts setting or the system's trust store, and check"
                " gmail_url; the responder never sends without verification."
            ) from None
        except OSError as failure:
            self._in_time()
            raise type(failure)(f"the request to {transport.name} failed ({failure})") from None
        if status >= 500:
            raise OSError(f"{transport.name} answered {_said(status, json_value(body))}")
        return answer(status, json_value(body), headers.get("Retry-After"), transport, recipient)

    def _token(self) -> str:
        """The job's token, asked for once, and again only by a job that outlives it."""
        transport = self.transport
        if transport.token is None or time.monotonic() >= transport.token.renew_at:
            self._in_time()
            try:
                transport.token = request_token(
                    self.session, transport.account, transport.mailbox, transport.timeout_now()
                )
            except Permanent:
                if self.clock.out():
                    raise Permanent(
                        "The job's time budget ran out while asking Google's token endpoint for a token;"
                        " nothing more went out."
                    ) from None
                raise
        return transport.token.value

    def _in_time(self) -> None:
        if self.clock.out():
            raise BudgetSpent(f"the job's time budget ran out while waiting for {self.transport.name}")


def answer(status: int, body: object, retry_after: str | None, transport: GmailTransport, recipient: str) -> Answer:
    """Gmail's reply to one send, as the delivery policy's answer (5xx is left to the caller: it is raised)."""
    if status == 200:
        return Answer(ACCEPTED, "", None)
    reason, message, _ = google_error(body)
    said = _said(status, body)
    where = transport.name
    if reason == "dailyLimitExceeded" or "sending limit" in message.lower() or "sending quota" in message.lower():
        return Answer(
            STOP,
            f"{where} answered with the sender's daily sending limit ({said}); nothing more went out in this job."
            f" Run the responder again once the limit resets: it mails only those not reached ({LIMITS}: see"
            " smtp_max_per_minute).",
            None,
        )
    if status == 429 or (status == 403 and reason in RATE_LIMITS):
        return Answer(RECONNECT, f"{where} asked to slow down ({said})", _wait(retry_after, message))
    if status == 400 and reason == "failedPrecondition":
        return Answer(
            STOP,
            f"{where} refused to send as {transport.mailbox} ({said}): the mailbox in 'from' has no Gmail. A Workspace"
            " admin turns Gmail on for that user (a licence with Gmail), or 'from' is set to a user who has it.",
            None,
        )
    if status == 400:
        return Answer(REFUSED, f"{where} refused the message to {recipient}: {said}", None)
    return Answer(
        STOP, f"{where} refused to send as {transport.mailbox} ({said}). {_advice(status, reason, transport)}", None
    )


def _advice(status: int, reason: str, transport: GmailTransport) -> str:
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


def google_error(body: object) -> tuple[str, str, str]:
    """Google's error as (reason, message, status): {"error": {"code", "message", "errors": [{"reason"}], "status"}}."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", "", ""
    errors = error.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    reason = first.get("reason") or error.get("status") or ""
    return str(reason)[:60], " ".join(str(error.get("message") or "").split())[:300], str(error.get("status") or "")


def _said(status: int, body: object) -> str:
    reason, message, _ = google_error(body)
    return scrub(
        " ".join(part for part in (f"HTTP {status}", f"{reason}:" if reason else "", message) if part).rstrip(":")
    )


def _wait(retry_after: str | None, message: str) -> float | None:
    """Seconds Google asks to wait: Retry-After (seconds or a date), else the "Retry after <time>" in its message."""
    now = datetime.now(timezone.utc)
    if retry_after:
        text = retry_after.strip()
        if text.isdigit():
            return float(text)
        try:
            return max(0.0, (parsedate_to_datetime(text) - now).total_seconds())
        except (TypeError, ValueError):
            return None
    _, found, rest = message.partition("Retry after ")
    if found:
        try:
            until = datetime.fromisoformat(rest.split()[0].replace("Z", "+00:00"))
            return max(0.0, (until - now).total_seconds())
        except (IndexError, ValueError):
            return None
    return None
