"""Microsoft Graph's sendMail on loopback over HTTPS, answering as Graph does (docs/cortex-and-thehive.md §8b).

An HTTPS server (testkit/https_server.py) that keeps connections alive, so that a test sees how many
TLS connections a job opened; it takes the MIME form of sendMail (base64 of the whole message,
Content-Type text/plain), checks the bearer token Entra issued and the sending mailbox, records each
message it accepts (202), and answers the replies a test scripts with Graph's status codes,
`{"error": {"code", "message"}}` bodies and Retry-After. It also answers GET mailboxSettings/language
(docs/graph.md, "Optional: each reporter's mailbox language") with each mailbox's locale, or 403
ErrorAccessDenied for an app without MailboxSettings.Read.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import unquote

import pytest

from testkit import https_server
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


@dataclass
class Reply:
    """One scripted answer: Graph's error, `drop` (the connection closed unanswered), `stall` s of silence, `cut` (the
    answer's body cut short after its head) or `page`, the HTML a proxy answers in Graph's place."""

    status: int = 202
    code: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    stall: float = 0.0
    cut: bool = False
    page: str = ""


def error(reply: tuple[int, str, str], **headers: str) -> Reply:
    status, code, message = reply
    return Reply(status, code, message, headers)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    message: EmailMessage | None


class GraphApi:
    """sendMail for MAILBOX with the `tokens` Entra issued; `script` answers the next requests, each once, then 202.

    `accepted` holds each message answered 202 (even too late for the client), in order.
    """

    def __init__(self, certificates, certificate=None, mailbox: str = MAILBOX) -> None:
        self.mailbox, self.tokens = mailbox, {TOKEN}
        self.script: list[Reply] = []
        self.received: list[Received] = []
        self.accepted: list[EmailMessage] = []
        # mailboxSettings/language: each mailbox's locale, whether the app holds MailboxSettings.Read, a scripted reply.
        self.locales: dict[str, str] = {}
        self.mailbox_settings_read = True
        self.language_reply: Reply | None = None
        self.language_requests: list[https_server.Received] = []
        self.lock = threading.Lock()
        self.server = https_server.HttpsServer(certificates.server_context(certificate), self.answer).__enter__()
        self.port, self.url = self.server.port, self.server.url

    @property
    def connections(self) -> int:
        """The TLS connections that carried a request: one client port each."""
        return len({request.port for request in self.server.log})

    def answer(self, request: https_server.Received) -> https_server.Reply:
        if request.method == "GET":
            return self._mailbox_language(request)
        reply = self._decide(request.path, dict(request.headers), request.body)
        if reply.drop:
            return https_server.Reply(reply.status, drop=True)
        time.sleep(reply.stall)
        if reply.page:
            return https_server.Reply(reply.status, reply.page.encode(), {"Content-Type": "text/html; charset=utf-8"})
        headers = {**reply.headers, "Content-Type": "application/json"} if reply.code or reply.cut else reply.headers
        error = {"error": {"code": reply.code, "message": reply.message}}
        body = json.dumps(error).encode() if reply.code or reply.cut else b""
        return https_server.Reply(reply.status, body, headers, cut=8 if reply.cut else None)

    def _mailbox_language(self, request: https_server.Received) -> https_server.Reply:
        """GET users/{address}/mailboxSettings/language as Graph answers it, with MailboxSettings.Read or without."""
        self.language_requests.append(request)
        match = re.fullmatch(r"/v1\.0/users/([^/]+)/mailboxSettings/language", request.path)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            reply = error(BAD_TOKEN)
        elif match is None:
            reply = error(NOT_FOUND)
        elif self.language_reply is not None:
            reply = self.language_reply
            time.sleep(reply.stall)
        elif not self.mailbox_settings_read:
            reply = error(ACCESS_DENIED)
        elif unquote(match.group(1)) not in self.locales:
            reply = error((404, "ErrorInvalidUser", f"The requested user '{unquote(match.group(1))}' is invalid."))
        else:
            user, locale = unquote(match.group(1)), self.locales[unquote(match.group(1))]
            answer = {
                "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#users('{user}')/mailboxSettings/language",
                "locale": locale,
                "displayName": LOCALE_NAMES.get(locale, locale),
            }
            return https_server.Reply.json(200, answer)
        body = json.dumps({"error": {"code": reply.code, "message": reply.message}}).encode()
        return https_server.Reply(reply.status, body, {**reply.headers, "Content-Type": "application/json"})

    def _decide(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self.lock:
            message = _mime(body) if headers.get("Content-Type", "").startswith("text/plain") else None
            self.received.append(Received(path, headers, message))
            if headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
                return error(BAD_TOKEN)
            if unquote(path) != f"/v1.0/users/{self.mailbox}/sendMail":
                return error(INVALID_USER)
            if message is None:
                return Reply(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
            reply = self.script.pop(0) if self.script else Reply()
            if reply.status == 202 and not reply.drop:
                self.accepted.append(message)
            return reply

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
