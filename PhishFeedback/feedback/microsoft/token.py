"""Entra ID's OAuth2 token for SMTP and Graph: one client-credentials request to the token endpoint per job.

Another only for a job that outlives its token (Entra ID's last about an hour, `expires_in`): a long
campaign paced at Exchange's 30 messages a minute may, and its next session would be refused.

Microsoft Entra ID answers a form-encoded POST with JSON: `access_token` on success, `error` and
`error_description` (Entra's `AADSTS…` code first) on refusal. The app proves who it is with a
client assertion signed by its certificate's key (feedback/microsoft/certificate.py) or with its
client secret. The request is the HTTP client's (feedback/http_exchange.py), with urllib where it can
(`request_token`): a job that logs in with a password does not load this module.
"""

from __future__ import annotations

import re
import ssl
import time
from urllib.parse import quote_plus

from feedback.alarm import Clock
from feedback.http_exchange import lone_request_session, post
from feedback.http_failures import HttpFailure, Malformed, Redirected, TooLarge, Untrusted
from feedback.microsoft.settings import OAuthSettings
from feedback.redaction import remember, scrub, shortened
from feedback.tokens import OAuthError, Token, advice, endpoint_shown, failing_for_now, issued

# The item an admin corrects for Entra ID's commonest refusals (AADSTS codes), then for OAuth2's error names;
# {credential} is the item the job proves itself with.
AADSTS_ITEMS = {
    "7000215": "oauth_client_secret (its Value, not its Secret ID)",
    "7000222": "oauth_client_secret (it has expired: make a new one)",
    "700027": "oauth_client_certificate: its certificate must be the one uploaded to the app registration"
    " (Certificates & secrets → Certificates), and not expired",
    "700024": "the Cortex host's clock (the client assertion's time is checked): synchronise it (NTP)",
    "700016": "oauth_client_id and the tenant in oauth_token_url",
    "90002": "the tenant in oauth_token_url",
    "900023": "the tenant in oauth_token_url",
    "70011": "oauth_scope",
    "1002012": "oauth_scope",
}
ERROR_ITEMS = {
    "invalid_client": "oauth_client_id and {credential}",
    "unauthorized_client": "oauth_client_id",
    "invalid_scope": "oauth_scope",
}
LARGEST_ANSWER = 1 << 20
ENDPOINT = (
    "Check oauth_token_url: for Microsoft 365 it is https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token."
)
REACH = "Check oauth_token_url, that Cortex can reach it, and Cortex's proxy settings."
ACCEPT = {"Accept": "application/json"}


def request_token(oauth: OAuthSettings, context: ssl.SSLContext, deadline: float, timeout: float) -> Token:
    """An access token for the mailbox; never logged, and kept out of every output like the client secret.

    The request goes through the HTTP client with urllib (feedback/plain_http.py) where it can: a job that logs
    in to SMTP with OAuth2 makes no other HTTP request, and need not load requests for this one.
    """
    shown = endpoint_shown(oauth.token_url)
    form = {"grant_type": "client_credentials", "client_id": oauth.client_id, **_credential(oauth)}
    form["scope"] = oauth.scope
    clock = Clock(deadline)
    session = lone_request_session(context, oauth.reach.proxies, clock)
    asked = time.monotonic()
    try:
        with clock:
            status, _, answer = post(
                session, oauth.token_url, LARGEST_ANSWER, timeout, data=form, headers=ACCEPT, decoded=True
            )
    except HttpFailure as failure:
        raise OAuthError(_failed(shown, failure, clock.out()), passing=failure.passing) from None
    token = issued(status, answer, asked, _lifetime)
    if token is not None:
        return token
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        raise OAuthError(_refusal(shown, status, answer, _credential_item(oauth)), passing=failing_for_now(status))
    raise OAuthError(
        f"The OAuth2 token endpoint {shown} answered HTTP {status} without a token (no OAuth2 JSON). {ENDPOINT}",
        passing=failing_for_now(status),
    )


def _credential(oauth: OAuthSettings) -> dict[str, str]:
    """What proves the app's identity in the form: a new client assertion for each request, or the client secret."""
    if oauth.client_certificate is not None:
        from feedback.microsoft.certificate import ASSERTION_TYPE, client_assertion

        assertion = client_assertion(oauth.client_certificate, oauth.client_id, oauth.token_url, time.time())
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    remember(oauth.client_secret)
    remember(quote_plus(oauth.client_secret))
    return {"client_secret": oauth.client_secret}


def _credential_item(oauth: OAuthSettings) -> str:
    return "oauth_client_secret" if oauth.client_certificate is None else "oauth_client_certificate"


def _lifetime(expires_in: object) -> float:
    """Seconds the token lasts, as the endpoint says (a number, or a numeric string); inf when it does not say."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError, OverflowError):
        return float("inf")
    return seconds if seconds > 0 else float("inf")


def _refusal(shown: str, status: int, answer: dict, credential: str) -> str:
    # Entra adds Trace ID, Correlation ID and Timestamp after the sentence an admin needs.
    description = shortened(str(answer.get("error_description") or ""), 400).split(" Trace ID:")[0]
    code = re.match(r"AADSTS(\d+)", description)
    item = (code and AADSTS_ITEMS.get(code.group(1))) or ERROR_ITEMS.get(answer["error"])
    pointed = item and f"Check {item.format(credential=credential)}."
    otherwise = f"Check oauth_token_url, oauth_client_id, {credential} and oauth_scope."
    return scrub(
        f"The OAuth2 token endpoint {shown} refused the token request (HTTP {status}, {shortened(answer['error'], 80)}"
        f"{f': {description}' if description else ''}). {advice(status, pointed, otherwise)}"
    )


def _failed(shown: str, failure: HttpFailure, spent: bool) -> str:
    """The failure's one sentence, but for the job's deadline, which is no failure of the endpoint's."""
    party = f"the OAuth2 token endpoint {shown}"
    if spent:
        return f"The OAuth2 token endpoint {shown} could not be reached (the job's time budget ran out). {REACH}"
    if isinstance(failure, Untrusted):
        return failure.sentence(party)
    if isinstance(failure, Redirected):
        return failure.sentence(party, f"The app's credential goes to oauth_token_url alone. {ENDPOINT}")
    return failure.sentence(party, ENDPOINT if isinstance(failure, (Malformed, TooLarge)) else REACH)
