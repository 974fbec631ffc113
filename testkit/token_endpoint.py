"""An OAuth2 token endpoint on loopback answering as Microsoft Entra ID does (docs/cortex-and-thehive.md §8).

Served over HTTPS by pytest-httpserver with a certificate from the tests' CA: the client-credentials
grant, form-encoded, answered with Entra's JSON for a token or for a refusal. The app proves who
it is with its client secret, or with a client assertion (docs/graph.md, set-up step 2) that the endpoint checks
as Entra does: signed PS256 by the key of a certificate uploaded to the app registration (found by
its `x5t#S256` thumbprint), for this endpoint (`aud`), by the app (`iss`, `sub`), valid now for at
most 10 minutes, and with a `jti` never seen before.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import json
import time
from dataclasses import dataclass, field

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from testkit import keys

TENANT = "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5"
TOKEN_PATH = f"/{TENANT}/oauth2/v2.0/token"
CLIENT_ID = "6f1a9b2c-3d4e-5f60-7182-93a4b5c6d7e8"
CLIENT_SECRET = "Qx8~kT2.vW9-Secret_Value~f3Lm0pR7sU1"
SCOPE = "https://outlook.office365.com/.default"
MAILBOX = "soc@example.org"
# What Entra issues: a JWT, long and opaque to the client.
TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSJ9"
    ".c2lnbmF0dXJlLW9mLXRoZS10ZXN0"
)
# 2,000 characters, as Entra's access tokens often are (1,500-2,500): as XOAUTH2 on the AUTH line, far past
# 512 octets, and past Postfix's 2048 characters.
LONG_TOKEN = TOKEN + "." + "x" * (2000 - len(TOKEN) - 1)


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Entra ID takes an assertion that lives at most 10 minutes.
LONGEST_ASSERTION = 600


@functools.cache
def app_certificate():
    """The certificate uploaded to the app registration, made once per test session as docs/graph.md makes it."""
    return keys.certificate(keys.rsa_key(2048))


def certificate_item(certificate=None, key=None) -> str:
    """oauth_client_certificate as the admin pastes it: the certificate, then its key, both in PEM."""
    return keys.certificate_pem(certificate or app_certificate()) + keys.pem(key or keys.rsa_key(2048))


@dataclass
class AppRegistration:
    """What Entra ID knows of the app: its uploaded certificates, and the client assertions it took (header, claims)."""

    certificates: list = field(default_factory=lambda: [app_certificate()])
    assertions: list[tuple[dict, dict]] = field(default_factory=list)

    def refusal(self, assertion: str, endpoint: str) -> Response | None:
        """None for an assertion Entra ID takes (then recorded), else its refusal."""
        try:
            header_part, claims_part, signature = assertion.split(".")
            header, claims = json.loads(_unbase64url(header_part)), json.loads(_unbase64url(claims_part))
            signature = _unbase64url(signature)
        except (ValueError, binascii.Error):
            return entra_error(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
        uploaded = {keys.thumbprint(c): c for c in self.certificates}
        if header.get("typ") != "JWT" or header.get("alg") != "PS256":
            return entra_error(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
        if header.get("x5t#S256") not in uploaded:
            return entra_error(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not registered on application.",
            )
        if not _verified(uploaded[header["x5t#S256"]], f"{header_part}.{claims_part}", signature):
            return entra_error(401, "invalid_client", 700027, "Client assertion contains an invalid signature.")
        if claims.get("aud") != endpoint or claims.get("iss") != CLIENT_ID or claims.get("sub") != CLIENT_ID:
            return entra_error(
                401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id'."
            )
        now, starts, ends = time.time(), claims.get("nbf", 0), claims.get("exp", 0)
        if not (starts <= now < ends and ends - starts <= LONGEST_ASSERTION and claims.get("iat", 0) <= now):
            return entra_error(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        if not claims.get("jti") or claims["jti"] in {seen.get("jti") for _, seen in self.assertions}:
            return entra_error(401, "invalid_client", 70002, "Error validating credentials. The jti was used before.")
        self.assertions.append((header, claims))
        return None


def _verified(certificate, signing_input: str, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    scheme = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
    try:
        certificate.public_key().verify(signature, signing_input.encode(), scheme, hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _unbase64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def entra_error(status: int, error: str, code: int, text: str) -> Response:
    """Entra ID's refusal: the AADSTS code and sentence, then trace lines, in error_description."""
    trace = "8a0e1f1c-2b3d-4e5f-9a8b-7c6d5e4f3a2b"
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {trace}\r\n"
        "Timestamp: 2026-11-28 09:30:00Z",
        "error_codes": [code],
        "timestamp": "2026-11-28 09:30:00Z",
        "trace_id": trace,
        "correlation_id": trace,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def token_answer(request: Request, scope: str = SCOPE, app: AppRegistration | None = None) -> Response:
    """Entra's answer to a client-credentials request from the registered app (CLIENT_ID, with CLIENT_SECRET or a
    client assertion `app` takes) for `scope`."""
    refused = refusal(request, app)
    if refused is not None:
        return refused
    if request.form.get("scope") != scope:
        return entra_error(
            400, "invalid_scope", 1002012, f"The provided value for scope {request.form.get('scope')} is not valid."
        )
    body = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN}
    return Response(json.dumps(body), status=200, content_type="application/json; charset=utf-8")


def refusal(request: Request, app: AppRegistration | None) -> Response | None:
    """Entra's refusal of a request that is not the registered app's, with its secret or an assertion `app` takes."""
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return entra_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
    if form.get("client_id") != CLIENT_ID:
        return entra_error(
            400, "unauthorized_client", 700016, f"Application with identifier '{form.get('client_id')}' was not found."
        )
    if "client_assertion" in form and "client_secret" in form:
        return entra_error(400, "invalid_request", 90023, "A client secret and a client assertion were both sent.")
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return entra_error(400, "invalid_request", 90023, "The client_assertion_type is not supported.")
        refused = (app or AppRegistration()).refusal(form["client_assertion"], request.base_url)
        if refused is not None:
            return refused
    elif form.get("client_secret") != CLIENT_SECRET:
        return entra_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret"
            f" value, not the client secret ID, for a secret added to app '{CLIENT_ID}'.",
        )
    return None


def issue_token(entra: HTTPServer, token: str) -> None:
    """Entra issuing `token` (valid for an hour) in place of TOKEN, to every request."""
    entra.clear()
    entra.expect_request(TOKEN_PATH, method="POST").respond_with_json(
        {"token_type": "Bearer", "expires_in": 3599, "access_token": token}
    )


def issue_short_lived_tokens(
    entra: HTTPServer, server, lifetime: float, refused_from: int = 0, unavailable_at: int = 0
) -> list[str]:
    """Entra issuing a new token at every request, lasting `lifetime` s, which `server` (the SMTP server's
    XOAuth2, or Graph) refuses after: each token goes to its `honour(token, mailbox, lifetime)`.

    From the `refused_from`-th request on (if set), Entra refuses: the app's secret has expired meanwhile. The
    `unavailable_at`-th request (if set) gets Entra's passing 503 (AADSTS90033), the next one a token again.
    Each request must carry the app's credential (its secret, or an assertion `entra.app` takes).
    Returns the tokens issued, as they are issued.
    """
    issued: list[str] = []
    asked = itertools.count(1)

    def answer(request: Request) -> Response:
        refused = refusal(request, entra.app)
        if refused is not None:
            return refused
        if next(asked) == unavailable_at:
            return entra_error(
                503, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again."
            )
        if refused_from and len(issued) + 1 >= refused_from:
            return entra_error(
                401, "invalid_client", 7000222, f"The provided client secret keys for app '{CLIENT_ID}' are expired."
            )
        token = f"{TOKEN}.{len(issued) + 1}"
        issued.append(token)
        server.honour(token, MAILBOX, lifetime)
        body = {"token_type": "Bearer", "expires_in": lifetime, "access_token": token}
        return Response(json.dumps(body), status=200, content_type="application/json; charset=utf-8")

    entra.clear()
    entra.expect_request(TOKEN_PATH, method="POST").respond_with_handler(answer)
    return issued


@pytest.fixture
def entra(certificates):
    """Entra ID's token endpoint behind HTTPS, with a certificate from the tests' CA."""
    server = HTTPServer(host="127.0.0.1", ssl_context=certificates.server_context())
    server.app = AppRegistration()
    server.expect_request(TOKEN_PATH, method="POST").respond_with_handler(lambda r: token_answer(r, SCOPE, server.app))
    server.start()
    yield server
    server.stop()


def oauth_items(entra: HTTPServer) -> dict:
    """Configuration items for Microsoft 365 with OAuth2, the token from this Entra ID."""
    return {
        "smtp_auth": "oauth2",
        "smtp_user": MAILBOX,
        "smtp_password": None,
        "oauth_token_url": entra.url_for(TOKEN_PATH),
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
    }


@pytest.fixture
def oauth(entra, smtp) -> dict:
    """Configuration items for Microsoft 365 with OAuth2, and a mail server that accepts the token Entra issues."""
    smtp.xoauth2.tokens[TOKEN] = MAILBOX
    return oauth_items(entra)
