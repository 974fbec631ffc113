"""Google's token endpoint on loopback, answering a service account as Google does (docs/cortex-and-thehive.md §8b).

An HTTPS server (testkit/https_server.py) with a certificate from the tests' CA: it verifies the
JWT's RS256 signature with the service account's public key and checks its claims as Google does,
then issues tokens the loopback Gmail API (testkit/gmail_api.py) takes. The key is made as Google
Cloud's console hands it out.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import secrets
import time
from dataclasses import dataclass

import pytest

from testkit.https_server import HttpsServer, Received, Reply

SCOPE = "https://www.googleapis.com/auth/gmail.send"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_PATH = "/token"
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
        self.skew = 0.0  # seconds Google's clock is ahead of the client's

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
        now, issued, expires = time.time() + self.skew, claims.get("iat", 0), claims.get("exp", 0)
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
            if json.loads(unbase64url(header)).get("alg") != "RS256":
                return None
            private_key().public_key().verify(
                unbase64url(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            return json.loads(unbase64url(claims))
        except (ValueError, binascii.Error, InvalidSignature):
            return None


def unbase64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def google_oauth(certificates):
    """Google's token endpoint behind HTTPS, with a certificate from the tests' CA."""
    oauth = GoogleOAuth(certificates)
    with oauth.server:
        yield oauth
