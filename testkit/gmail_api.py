"""The Gmail API on loopback, as gmail.googleapis.com answers users.messages.send (docs/cortex-and-thehive.md §8b).

An HTTPS server (testkit/https_server.py) with a certificate from the tests' CA that keeps
connections alive as Google's does, so that a test sees how many a job opens. It takes only the
tokens the loopback token endpoint (testkit/google_oauth.py) issued, records each message it
accepts (the raw MIME, base64url-decoded) and the connection it came over, and answers in Google's
JSON shapes, scripted faults included; it also answers users.settings.getLanguage
(docs/gmail.md, "Optional: each reporter's Gmail language").
"""

from __future__ import annotations

import binascii
import json
import re
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from urllib.parse import unquote

import pytest

from testkit.google_oauth import MAILBOX, SCOPE, GoogleOAuth, unbase64url
from testkit.http_faults import Fault, answered, reset_at_head
from testkit.https_server import HttpsServer, Received, Reply

FULL_MAIL_SCOPE = "https://mail.google.com/"
SEND_PATH = re.compile(r"^/gmail/v1/users/([^/]+)/messages/send$")
LANGUAGE_PATH = re.compile(r"^/gmail/v1/users/([^/]+)/settings/language$")
# The scopes that may read a user's language settings (docs/gmail.md, "Optional: each reporter's Gmail language").
SETTINGS_SCOPES = {
    "https://www.googleapis.com/auth/gmail.settings.basic",
    "https://www.googleapis.com/auth/gmail.readonly",
    FULL_MAIL_SCOPE,
}


def google_error(code: int, reason: str, message: str, status: str, domain: str = "global", **headers) -> Reply:
    """Google's API error shape, as the Gmail API words it."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": status,
        }
    }
    return Reply.json(code, body, headers)


def rate_limited(retry_after: str | None = None) -> Reply:
    """429 for too many sends in a short time; Retry-After only where given (Google often puts the time in words)."""
    when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 1))
    headers = {"Retry-After": retry_after} if retry_after else {}
    return google_error(
        429,
        "rateLimitExceeded",
        f"User-rate limit exceeded.  Retry after {when}",
        "RESOURCE_EXHAUSTED",
        "usageLimits",
        **headers,
    )


def sending_limit(hours: float = 5) -> Reply:
    """The mailbox's daily sending limit, as Gmail answers it: 429 with the time to retry, hours away."""
    when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + hours * 3600))
    return google_error(
        429,
        "rateLimitExceeded",
        f"User-rate limit exceeded.  Retry after {when} (Mail sending)",
        "RESOURCE_EXHAUSTED",
        "usageLimits",
    )


def daily_limit() -> Reply:
    return google_error(
        403, "dailyLimitExceeded", "Daily user sending limit exceeded.", "PERMISSION_DENIED", "usageLimits"
    )


def invalid_to() -> Reply:
    return google_error(400, "invalidArgument", "Invalid To header", "INVALID_ARGUMENT")


@dataclass
class Sent:
    user: str
    raw: bytes
    connection: int  # the client's port: one per TCP connection

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)

    @property
    def recipients(self) -> list[str]:
        message = self.message
        fields = [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
        return [address for _, address in getaddresses(fields)]


@dataclass
class GmailFaults:
    """Answers the API gives instead of sending, by recipient or past a count; the answer to every settings/language
    request instead of the user's language, or a fault around it."""

    refuse: dict[str, Reply] = field(default_factory=dict)
    # Once this many were sent: every send answered with the mailbox's daily sending limit.
    daily_limit_after: int = -1
    language: Reply | Fault | None = None


class GmailApi:
    """gmail.googleapis.com's users.messages.send, taking the tokens `oauth` issued."""

    def __init__(self, certificates, oauth: GoogleOAuth) -> None:
        self.oauth = oauth
        self.server = HttpsServer(
            certificates.server_context(), self.answer, lambda head: reset_at_head(head, self.script)
        )
        self.url = self.server.url
        self.sent: list[Sent] = []
        self.faults = GmailFaults()
        self.script: list[Reply | Fault] = []  # the next sends, each once (testkit/http_faults.py)
        self.languages: dict[str, str] = {}  # each user's display language, as settings/language gives it

    @property
    def requests(self) -> list[Received]:
        return self.server.log

    def recipients(self) -> list[str]:
        return [address for sent in self.sent for address in sent.recipients]

    def connections(self) -> set[int]:
        return {request.port for request in self.requests}

    def answer(self, request: Received) -> Reply:
        language = LANGUAGE_PATH.match(request.path)
        if request.method == "GET" and language is not None:
            return self._language(request, unquote(language.group(1)))
        path = SEND_PATH.match(request.path)
        if request.method != "POST" or path is None:
            return google_error(404, "notFound", "Not Found", "NOT_FOUND")
        user = unquote(path.group(1))
        refused = self._authorised(request.headers.get("Authorization", ""), user)
        if refused is not None:
            return refused
        return answered(self.script.pop(0) if self.script else None, lambda: self._send(request, user))

    def _send(self, request: Received, user: str) -> Reply:
        if 0 <= self.faults.daily_limit_after <= len(self.sent):
            return sending_limit()
        try:
            raw = unbase64url(json.loads(request.body)["raw"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return google_error(
                400,
                "invalidArgument",
                "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
                "INVALID_ARGUMENT",
            )
        sent = Sent(user, raw, request.port)
        if not sent.recipients:
            return google_error(400, "invalidArgument", "Recipient address required", "INVALID_ARGUMENT")
        for address in sent.recipients:
            if address in self.faults.refuse:
                return self.faults.refuse[address]
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                return invalid_to()
        self.sent.append(sent)
        message_id = f"{0x18C2A3B4D5E6F708 + len(self.sent):x}"
        return Reply.json(200, {"id": message_id, "threadId": message_id, "labelIds": ["SENT"]})

    def _language(self, request: Received, user: str) -> Reply:
        """users.settings.getLanguage: the user's display language (Gmail's default, en, where never set)."""
        refused = self._authorised(request.headers.get("Authorization", ""), user, SETTINGS_SCOPES)
        if refused is not None:
            return refused
        return answered(
            self.faults.language, lambda: Reply.json(200, {"displayLanguage": self.languages.get(user, "en")})
        )

    def _authorised(
        self, authorization: str, user: str, scopes: set[str] = frozenset((SCOPE, FULL_MAIL_SCOPE))
    ) -> Reply | None:
        """None for a live token with one of `scopes` (gmail.send) for this user (or `me`), else Google's refusal."""
        scheme, _, token = authorization.partition(" ")
        grant = self.oauth.issued.get(token) if scheme == "Bearer" else None
        if grant is None or grant.expires < time.monotonic():
            return google_error(
                401,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other"
                " valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                "UNAUTHENTICATED",
            )
        if not scopes & set(grant.scopes):
            return google_error(
                403, "insufficientPermissions", "Request had insufficient authentication scopes.", "PERMISSION_DENIED"
            )
        if user not in ("me", grant.sub):
            return google_error(403, "forbidden", f"Delegation denied for {grant.sub}", "PERMISSION_DENIED")
        return None


@pytest.fixture
def gmail_api(certificates, google_oauth):
    """The Gmail API behind HTTPS, taking the tokens `google_oauth` issues."""
    api = GmailApi(certificates, google_oauth)
    with api.server:
        yield api


@pytest.fixture
def gmail_items(google_oauth, gmail_api) -> dict:
    """Configuration items for delivery through the Gmail API as the service account of the loopback Google."""
    return {
        "delivery": "gmail",
        "gmail_service_account": json.dumps(google_oauth.key(), indent=2),
        "gmail_url": gmail_api.url,
        "from": f"SOC <{MAILBOX}>",
    }
