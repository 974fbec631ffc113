"""Microsoft Graph's sendMail on loopback over HTTPS, answering as Graph does (docs/cortex-and-thehive.md §8b).

An HTTPS server (testkit/https_server.py) that keeps connections alive, so that a test sees how many
TLS connections a job opened; it takes the MIME form of sendMail (base64 of the whole message,
Content-Type text/plain), checks the bearer token Entra issued and the sending mailbox, records each
message it accepts (202), and answers what a test scripts (testkit/http_faults.py): Graph's status
codes, `{"error": {"code", "message"}}` bodies and Retry-After, or a fault around its own answer. It
also answers GET mailboxSettings/language (docs/graph.md, "Optional: each reporter's mailbox
language") with each mailbox's locale, or 403 ErrorAccessDenied for an app without
MailboxSettings.Read.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import unquote

import pytest

from testkit.http_faults import Fault, answered, reset_at_head
from testkit.https_server import HttpsServer, Received, Reply
from testkit.token_endpoint import CLIENT_ID, CLIENT_SECRET, MAILBOX, TOKEN, TOKEN_PATH, token_answer

# Graph's own wording of the replies the responder reads (status, code, message).
SEND_AS_DENIED = (
    403,
    "ErrorSendAsDenied",
    "The user account which was used to submit this request does not have"
    " the right to send mail on behalf of the specified sending account.",
)
ACCESS_DENIED = (403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
NOT_ENABLED = (
    404,
    "MailboxNotEnabledForRESTAPI",
    "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
)
INVALID_USER = (404, "ErrorInvalidUser", "The requested user 'soc@example.org' is invalid.")
NOT_FOUND = (404, "ResourceNotFound", "Resource could not be discovered.")
INVALID_RECIPIENTS = (
    400,
    "ErrorInvalidRecipients",
    "At least one recipient is not valid., Recipient"
    " 'alice@example.org' is not resolved. All recipients must be resolved before a message can"
    " be submitted.",
)
QUOTA = (403, "ErrorQuotaExceeded", "The process failed to get the correct properties.")
THROTTLED = (429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
UNAVAILABLE = (503, "ServiceUnavailable", "Service unavailable.")
TIMED_OUT = (408, "ErrorTimeoutExpired", "The request timed out.")
TOO_LARGE = (
    400,
    "ErrorMessageSizeExceeded",
    "The message exceeds the maximum supported size., Cannot save changes made to an item to store.",
)
BAD_TOKEN = (401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")


LOCALE_NAMES = {"nl-BE": "Dutch (Belgium)", "fr-FR": "French (France)", "en-US": "English (United States)"}


def error(reply: tuple[int, str, str], **headers: str) -> Reply:
    """Graph's error shape, `{"error": {"code", "message"}}`, with its status."""
    status, code, message = reply
    return Reply.json(status, {"error": {"code": code, "message": message}}, headers)


@dataclass
class Sent:
    """A request to send, as Graph received it: `message` is None for a body that is no base64 MIME."""

    path: str
    headers: dict[str, str]
    message: EmailMessage | None


class GraphApi:
    """sendMail for MAILBOX with the `tokens` Entra issued; `script` answers the next requests, each once, then 202.

    `accepted` holds each message answered 202 (even too late for the client), in order.
    """

    def __init__(self, certificates, certificate=None, mailbox: str = MAILBOX) -> None:
        self.mailbox, self.tokens = mailbox, {TOKEN}
        self.script: list[Reply | Fault] = []  # the next requests to send, each once (testkit/http_faults.py)
        self.received: list[Sent] = []
        self.accepted: list[EmailMessage] = []
        # mailboxSettings/language: each mailbox's locale, whether the app holds MailboxSettings.Read, a scripted reply.
        self.locales: dict[str, str] = {}
        self.mailbox_settings_read = True
        self.out_of_scope: set[str] = set()  # mailboxes outside the app's RBAC for Applications scope: 403 to each
        self.language_reply: Reply | Fault | None = None
        self.language_requests: list[Received] = []
        self.lock = threading.Lock()
        self.server = HttpsServer(certificates.server_context(certificate), self.answer, self._reset).__enter__()
        self.port, self.url = self.server.port, self.server.url

    @property
    def connections(self) -> int:
        """The TLS connections that carried a request: one client port each."""
        return len({request.port for request in self.server.log})

    def answer(self, request: Received) -> Reply:
        if request.method == "GET":
            return self._mailbox_language(request)
        headers = dict(request.headers)
        with self.lock:
            message = _mime(request.body) if headers.get("Content-Type", "").startswith("text/plain") else None
            self.received.append(Sent(request.path, headers, message))
            refused = self._refusal(request.path, headers, message)
            step = self.script.pop(0) if self.script and refused is None else None
        return refused or answered(step, lambda: self._take(message))

    def _reset(self, head: Received) -> bool:
        with self.lock:
            return reset_at_head(head, self.script)

    def _refusal(self, path: str, headers: dict[str, str], message: EmailMessage | None) -> Reply | None:
        """Graph's answer to a request it cannot take, whatever the script says; None for one it can."""
        if headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return error(BAD_TOKEN)
        if unquote(path) != f"/v1.0/users/{self.mailbox}/sendMail":
            return error(INVALID_USER)
        if message is None:
            return error((400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."))
        return None

    def _take(self, message: EmailMessage) -> Reply:
        with self.lock:
            self.accepted.append(message)
        return Reply(202)

    def _mailbox_language(self, request: Received) -> Reply:
        """GET users/{address}/mailboxSettings/language as Graph answers it, with MailboxSettings.Read or without."""
        self.language_requests.append(request)
        match = re.fullmatch(r"/v1\.0/users/([^/]+)/mailboxSettings/language", request.path)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return error(BAD_TOKEN)
        if match is None:
            return error(NOT_FOUND)
        return answered(self.language_reply, lambda: self._locale(unquote(match.group(1))))

    def _locale(self, user: str) -> Reply:
        if not self.mailbox_settings_read or user in self.out_of_scope:
            return error(ACCESS_DENIED)
        if user not in self.locales:
            return error((404, "ErrorInvalidUser", f"The requested user '{user}' is invalid."))
        answer = {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#users('{user}')/mailboxSettings/language",
            "locale": self.locales[user],
            "displayName": LOCALE_NAMES.get(self.locales[user], self.locales[user]),
        }
        return Reply.json(200, answer)

    def honour(self, token: str, mailbox: str, lifetime: float) -> None:
        """Take `token` too, for `lifetime` s; a Graph token names no mailbox, the app's permission decides."""
        self.tokens.add(token)
        threading.Timer(lifetime, self.tokens.discard, (token,)).start()

    def recipients(self) -> list[str]:
        return [message["To"] for message in self.accepted]

    def assert_each_got_exactly_one(self, reporters: list[str]) -> None:
        """Each reporter one message, addressed to them alone, in the order of the case."""
        assert self.recipients() == reporters
        for message, reporter in zip(self.accepted, reporters):
            assert [str(a) for a in message["To"].addresses] == [reporter]
            assert message["Cc"] is None and message["Bcc"] is None

    def close(self) -> None:
        self.server.__exit__()


def _mime(body: bytes) -> EmailMessage | None:
    try:
        return message_from_bytes(base64.b64decode(body, validate=True), policy=policy.default)
    except (binascii.Error, ValueError):
        return None


def entra_for(entra, scope: str) -> None:
    """The `entra` token endpoint issuing TOKEN for `scope` (Graph's: <graph_url>/.default) instead of Outlook's."""
    entra.clear()
    entra.expect_request(TOKEN_PATH, method="POST").respond_with_handler(lambda r: token_answer(r, scope, entra.app))


@pytest.fixture
def graph(certificates):
    server = GraphApi(certificates)
    yield server
    server.close()


@pytest.fixture
def graph_items(graph, entra) -> dict:
    """Configuration items for delivery through the loopback Graph, with a token from the loopback Entra ID."""
    entra_for(entra, f"{graph.url}/.default")
    return {
        "delivery": "graph",
        "graph_url": graph.url,
        "oauth_token_url": entra.url_for(TOKEN_PATH),
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
    }
