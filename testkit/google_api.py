"""Google's token endpoint and the Gmail API on loopback, answering as Google does (REFERENCE §8b, docs/gmail.md).

Both are HTTPS servers (testkit/https_server.py) with certificates from the tests' CA that keep
connections alive as Google's do, so that a test sees how many a job opens. The token endpoint
verifies the JWT's RS256 signature with the service account's public key and checks its claims as
Google does; the Gmail API takes only the tokens it issued, records each message it accepts (the
raw MIME, base64url-decoded) and the connection it came over, and answers in Google's JSON shapes,
scripted faults included.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from urllib.parse import unquote

import pytest

from testkit.https_server import HttpsServer, Received, Reply

SCOPE = "https://www.googleapis.com/auth/gmail.send"
FULL_MAIL_SCOPE = "https://mail.google.com/"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_PATH = "/token"
SEND_PATH = re.compile(r"^/gmail/v1/users/([^/]+)/messages/send$")
MAILBOX = "soc@example.org"
CLIENT_EMAIL = "phish-feedback@soc-tools-431207.iam.gserviceaccount.com"
CLIENT_ID = "104857361122334455667"
PRIVATE_KEY_ID = "3f1c2a9b7e6d5c4b3a29180716f5e4d3c2b1a091"
DELEGATION_MISSING = (
    "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the"
    " scopes requested."
)


@functools.cache
def private_key():
    """The service account's RSA key, made once per test session (as Google makes one per key)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_key(token_uri: str) -> dict:
    """A service account's JSON key as Google Cloud's console hands it out, its token_uri on loopback."""
    from cryptography.hazmat.primitives import serialization

    pem = private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        "type": "service_account",
        "project_id": "soc-tools-431207",
        "private_key_id": PRIVATE_KEY_ID,
        "private_key": pem.decode(),
        "client_email": CLIENT_EMAIL,
        "client_id": CLIENT_ID,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{CLIENT_EMAIL.replace('@', '%40')}",
        "universe_domain": "googleapis.com",
    }


def oauth_error(status: int, error: str, description: str) -> Reply:
    return Reply.json(status, {"error": error, "error_description": description})


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


def daily_limit() -> Reply:
    return google_error(
        403, "dailyLimitExceeded", "Daily user sending limit exceeded.", "PERMISSION_DENIED", "usageLimits"
    )


def invalid_to() -> Reply:
    return google_error(400, "invalidArgument", "Invalid To header", "INVALID_ARGUMENT")


@dataclass
class Grant:
    sub: str
    scopes: tuple[str, ...]
    expires: float


class GoogleOAuth:
    """oauth2.googleapis.com/token: the JWT-bearer grant for one service account with domain-wide delegation.

    `delegated` is what a Workspace admin granted the account's client ID; `users` the domain's users.
    """

    def __init__(self, certificates) -> None:
        self.server = HttpsServer(certificates.server_context(), self.answer)
        self.url = self.server.url + TOKEN_PATH
        self.delegated: set[str] = {SCOPE}
        self.users: set[str] = {MAILBOX}
        self.issued: dict[str, Grant] = {}
        self.claims: list[dict] = []
        self.lifetime = 3599
        self.refusal: Reply | None = None

    @property
    def requests(self) -> list[Received]:
        return self.server.log

    def key(self) -> dict:
        return service_account_key(self.url)

    def answer(self, request: Received) -> Reply:
        if request.path != TOKEN_PATH:
            return Reply(404)
        if request.form.get("grant_type") != GRANT_TYPE:
            return oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {request.form.get('grant_type')}")
        claims = self._verified(request.form.get("assertion", ""))
        if claims is None:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        self.claims.append(claims)
        if self.refusal is not None:
            return self.refusal
        if claims.get("iss") != CLIENT_EMAIL:
            return oauth_error(400, "invalid_grant", "Invalid grant: account not found")
        if claims.get("aud") != self.url:
            return oauth_error(
                400, "invalid_grant", f"Invalid JWT: Failed audience check. The right audience is {self.url}"
            )
        now, issued, expires = time.time(), claims.get("iat", 0), claims.get("exp", 0)
        if not (issued - 300 <= now <= expires and expires - issued <= 3600):
            return oauth_error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your"
                " iat and exp values in the JWT claim.",
            )
        scopes = tuple(str(claims.get("scope", "")).split())
        if not scopes:
            return oauth_error(400, "invalid_scope", "Empty or missing scope not allowed.")
        if not set(scopes) <= self.delegated:
            return oauth_error(401, "unauthorized_client", DELEGATION_MISSING)
        if claims.get("sub") not in self.users:
            return oauth_error(400, "invalid_grant", "Invalid email or User ID")
        token = f"ya29.c.c0ASRK0Ga{secrets.token_urlsafe(96)}"
        self.issued[token] = Grant(claims["sub"], scopes, time.monotonic() + self.lifetime)
        return Reply.json(200, {"access_token": token, "expires_in": self.lifetime, "token_type": "Bearer"})

    def _verified(self, assertion: str) -> dict | None:
        """The claims of an RS256 JWT signed by the account's key, else None."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            header, claims, signature = assertion.split(".")
            if json.loads(_unbase64url(header)).get("alg") != "RS256":
                return None
            private_key().public_key().verify(
                _unbase64url(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            return json.loads(_unbase64url(claims))
        except (ValueError, binascii.Error, InvalidSignature):
            return None


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
        return [address for _, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))]


@dataclass
class GmailFaults:
    """Answers the API gives instead of sending: `next` in order, one per request; `refuse` by recipient."""

    next: list[Reply] = field(default_factory=list)
    refuse: dict[str, Reply] = field(default_factory=dict)
    # Once this many were sent: every send answered with the daily sending limit.
    daily_limit_after: int = -1
    # Seconds the API takes before it answers a send.
    delay: float = 0.0


class GmailApi:
    """gmail.googleapis.com's users.messages.send, taking the tokens `oauth` issued."""

    def __init__(self, certificates, oauth: GoogleOAuth) -> None:
        self.oauth = oauth
        self.server = HttpsServer(certificates.server_context(), self.answer)
        self.url = self.server.url
        self.sent: list[Sent] = []
        self.faults = GmailFaults()

    @property
    def requests(self) -> list[Received]:
        return self.server.log

    def recipients(self) -> list[str]:
        return [address for sent in self.sent for address in sent.recipients]

    def connections(self) -> set[int]:
        return {request.port for request in self.requests}

    def answer(self, request: Received) -> Reply:
        path = SEND_PATH.match(request.path)
        if request.method != "POST" or path is None:
            return google_error(404, "notFound", "Not Found", "NOT_FOUND")
        time.sleep(self.faults.delay)
        user = unquote(path.group(1))
        refused = self._authorised(request.headers.get("Authorization", ""), user)
        if refused is not None:
            return refused
        if self.faults.next:
            return self.faults.next.pop(0)
        if 0 <= self.faults.daily_limit_after <= len(self.sent):
            return daily_limit()
        try:
            raw = _unbase64url(json.loads(request.body)["raw"])
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

    def _authorised(self, authorization: str, user: str) -> Reply | None:
        """None for a live token with gmail.send for this user (or `me`), else Google's refusal."""
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
        if not {SCOPE, FULL_MAIL_SCOPE} & set(grant.scopes):
            return google_error(
                403, "insufficientPermissions", "Request had insufficient authentication scopes.", "PERMISSION_DENIED"
            )
        if user not in ("me", grant.sub):
            return google_error(403, "forbidden", f"Delegation denied for {grant.sub}", "PERMISSION_DENIED")
        return None


def _unbase64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def google_oauth(certificates):
    """Google's token endpoint behind HTTPS, with a certificate from the tests' CA."""
    oauth = GoogleOAuth(certificates)
    with oauth.server:
        yield oauth


@pytest.fixture
def gmail_api(certificates, google_oauth):
    """The Gmail API behind HTTPS, taking the tokens `google_oauth` issues."""
    api = GmailApi(certificates, google_oauth)
    with api.server:
        yield api


@pytest.fixture
def gmail(google_oauth, gmail_api) -> dict:
    """Configuration items for delivery through the Gmail API as the service account of the loopback Google."""
    return {
        "delivery": "gmail",
        "gmail_service_account": json.dumps(google_oauth.key(), indent=2),
        "gmail_url": gmail_api.url,
        "from": f"SOC <{MAILBOX}>",
    }
