"""The Gmail API's access token: a service account's JWT-bearer grant with domain-wide delegation, once per job.

Google hands out a service account's key as a JSON file; the admin pastes it into
`gmail_service_account`. The assertion names the account (`iss`), the mailbox it acts as (`sub`:
domain-wide delegation) and the one scope the responder needs, `gmail.send`, and is signed RS256 by
`cryptography`, imported on first use so that only Gmail jobs load it. The private key, the
assertion and the token are secrets in every form: each is remembered by feedback/redaction.py the
moment it exists.
"""

from __future__ import annotations

import time

from feedback.bounded_json import json_value
from feedback.http_exchange import Session, post
from feedback.http_failures import HttpFailure, Malformed, Redirected, TooLarge
from feedback.items import WHERE, ConfigError, is_url
from feedback.jwt import rsa_private_key, signed
from feedback.redaction import remember_secret_text, scrub, shortened
from feedback.shapes import shape
from feedback.tokens import OAuthError, Token, advice, endpoint_shown, failing_for_now, issued

SCOPE = "https://www.googleapis.com/auth/gmail.send"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_URI = "https://oauth2.googleapis.com/token"
# Google refuses an assertion that lives longer than an hour; a token lasts as long.
LIFETIME = 3600
# A key Google issues is about 2.3 kB; an answer from the token endpoint well under 1 kB.
LARGEST_KEY = 64 * 1024
LARGEST_ANSWER = 64 * 1024
KEY_ITEM = "gmail_service_account"
ACCEPT_JSON = {"Accept": "application/json"}
TOKEN_URI_ADVICE = f"Check the token_uri in {KEY_ITEM} (Google's is {TOKEN_URI}), and Cortex's proxy settings."
PASTE = (
    f"Paste into {KEY_ITEM} the whole JSON key of the service account, as Google Cloud's console gives it"
    " (IAM & Admin → Service accounts → the account → Keys → Add key → JSON)."
)


@shape
class ServiceAccount:
    client_email: str
    client_id: str
    private_key: object  # cryptography's RSA private key, loaded and checked (feedback/jwt.py)
    private_key_id: str
    token_uri: str

    def __repr__(self) -> str:
        return f"ServiceAccount(client_email={self.client_email!r}, client_id={self.client_id!r})"


def read_key(text: str) -> ServiceAccount:
    """The service account from its JSON key, its private key loaded and checked: at the start of the job, so that
    every way a pasted key can be wrong is a sentence naming the item before anything is sent. `text` is not empty:
    feedback/google/settings.py says so first."""
    remember_secret_text(text)
    key = json_value(text.encode("utf-8", "surrogatepass")) if len(text) <= LARGEST_KEY else None
    if not isinstance(key, dict):
        raise ConfigError(f"{KEY_ITEM} does not hold a JSON key (it is not a JSON object). {PASTE} {WHERE}")
    private_key = key.get("private_key")
    if key.get("type", "service_account") != "service_account":
        raise ConfigError(
            f"{KEY_ITEM} holds a key of type {str(key.get('type'))[:40]!r}, not a service account's: an OAuth client's"
            f" secret or a user's credentials cannot use domain-wide delegation. {PASTE} {WHERE}"
        )
    fields = {name: key.get(name) for name in ("client_email", "private_key")}
    missing = [name for name, value in fields.items() if not isinstance(value, str) or not value.strip()]
    if missing:
        raise ConfigError(f"{KEY_ITEM} has no {' and no '.join(missing)}: it is not a whole JSON key. {PASTE} {WHERE}")
    token_uri = key.get("token_uri") or TOKEN_URI
    if not isinstance(token_uri, str) or not is_url(token_uri, ("https",)):
        raise ConfigError(
            f"The token_uri in {KEY_ITEM} must be an https URL (Google's is {TOKEN_URI}): the signed assertion"
            f" never crosses the network in clear text. {PASTE} {WHERE}"
        )
    return ServiceAccount(
        client_email=fields["client_email"].strip(),
        client_id=str(key.get("client_id") or ""),
        private_key=rsa_private_key(private_key, KEY_ITEM, PASTE),
        private_key_id=str(key.get("private_key_id") or ""),
        token_uri=token_uri,
    )


class TokenRefused(OAuthError):
    """Google's token endpoint answered with an OAuth2 error: its status and error name, for callers that read them."""

    def __init__(self, text: str, status: int, error: str) -> None:
        super().__init__(text, passing=failing_for_now(status))
        self.status, self.error = status, error


def assertion(account: ServiceAccount, mailbox: str, now: float, scope: str = SCOPE, *, pieces: bool = True) -> str:
    """The JWT Google's token endpoint takes for domain-wide delegation, signed RS256 with the account's key."""
    header = {"kid": account.private_key_id} if account.private_key_id else {}
    issued = int(now)
    claims = {
        "iss": account.client_email,
        "sub": mailbox,
        "scope": scope,
        "aud": account.token_uri,
        "iat": issued,
        "exp": issued + LIFETIME,
    }
    return signed(claims, header, account.private_key, "RS256", pieces=pieces)


def request_token(
    session: Session, account: ServiceAccount, mailbox: str, timeout: float, scope: str = SCOPE, *, pieces: bool = True
) -> Token:
    """The token for `mailbox` with `scope` alone (gmail.send), from the key's token_uri, over the job's session;
    without `pieces`, it and its assertion are found whole only in what the job writes (one of each a reporter).

    Redirects are not followed: the assertion is bound to token_uri (its `aud`), so no other
    endpoint could use it, and a redirect could lead it to plain HTTP.
    """
    shown = endpoint_shown(account.token_uri)
    form = {"grant_type": GRANT_TYPE, "assertion": assertion(account, mailbox, time.time(), scope, pieces=pieces)}
    asked = time.monotonic()
    try:
        status, _, answer = post(
            session, account.token_uri, LARGEST_ANSWER, timeout, data=form, headers=ACCEPT_JSON, decoded=True
        )
    except HttpFailure as failure:
        raise OAuthError(_failed(f"Google's token endpoint {shown}", failure), passing=failure.passing) from None
    if not isinstance(answer, dict):
        answer = {}
    token = issued(status, answer, asked, _lifetime, pieces=pieces)
    if token is not None:
        return token
    if isinstance(answer.get("error"), str):
        raise TokenRefused(_refusal(shown, status, answer, account, mailbox), status, answer["error"])
    raise OAuthError(
        f"Google's token endpoint {shown} answered HTTP {status} without a token (no OAuth2 JSON). {TOKEN_URI_ADVICE}",
        passing=failing_for_now(status),
    )


def _failed(party: str, failure: HttpFailure) -> str:
    if isinstance(failure, Redirected):
        return failure.sentence(party, f"The signed assertion goes to the token_uri alone. {TOKEN_URI_ADVICE}")
    if isinstance(failure, (Malformed, TooLarge)):
        return failure.sentence(party, TOKEN_URI_ADVICE)
    return failure.sentence(party)


def _lifetime(expires_in: object) -> float:
    """Google says 3599 s; anything odd, or longer than an assertion may ask, counts as the hour."""
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and 0 < expires_in < LIFETIME:
        return float(expires_in)
    return float(LIFETIME)


def _refusal(shown: str, status: int, answer: dict, account: ServiceAccount, mailbox: str) -> str:
    error = shortened(answer["error"], 60)
    description = shortened(str(answer.get("error_description") or ""), 300)
    said = f"(HTTP {status}, {error}{f': {description}' if description else ''})"
    otherwise = f"Check {KEY_ITEM} (a current JSON key of the service account) and 'from' ({mailbox})."
    return scrub(
        f"Google's token endpoint {shown} refused the token request {said}."
        f" {advice(status, _pointed(error, description, account, mailbox), otherwise)}"
    )


def _pointed(error: str, description: str, account: ServiceAccount, mailbox: str) -> str | None:
    """What Google's words for a refusal point the admin to, where they name a cause."""
    if error == "unauthorized_client":
        return delegation_advice(account)
    if "invalid email or user id" in description.lower():
        return (
            f"Google knows no user {mailbox}: set 'from' to the address of a user (or an alias's primary mailbox)"
            " of the Workspace domain where the service account has domain-wide delegation."
        )
    if "iat and exp" in description:
        return "The Cortex host's clock is off (the assertion's time is checked): synchronise it (NTP)."
    if "signature" in description.lower() or "account not found" in description.lower():
        return (
            f"The key in {KEY_ITEM} was deleted or its service account removed: make a new JSON key of"
            f" {account.client_email} and paste it."
        )
    return None


def delegation_advice(account: ServiceAccount) -> str:
    client = f"client ID {account.client_id}" if account.client_id else "the service account's client ID"
    return (
        "The service account has no domain-wide delegation for the scope gmail.send: a Workspace super admin adds"
        f" it in the Admin console, Security → Access and data control → API controls → Domain-wide delegation:"
        f" {client}, scope {SCOPE} alone. A new or changed delegation can take up to 24 hours to apply."
    )
