"""Entra ID's OAuth2 token for SMTP and Graph: one client-credentials request to the token endpoint per job.

Another only for a job that outlives its token (Entra ID's last about an hour, `expires_in`): a long
campaign paced at Exchange's 30 messages a minute may, and its next session would be refused.

Microsoft Entra ID answers a form-encoded POST with JSON: `access_token` on success, `error` and
`error_description` (Entra's `AADSTS…` code first) on refusal. The app proves who it is with a
client assertion signed by its certificate's key (feedback/microsoft/certificate.py) or with its
client secret. urllib is enough for one POST and
takes the job's own TLS trust; it is imported on first use, so that a job that logs in with a
password does not pay for it.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable
from urllib.parse import quote_plus, urlencode, urlsplit

from feedback.alarm import Alarm, BudgetSpent
from feedback.answers import Permanent
from feedback.bounded_json import PastBound, collected, parsed
from feedback.microsoft.settings import OAuthSettings
from feedback.redaction import remember, scrub, shortened
from feedback.tokens import OAuthError, Token, endpoint_shown, issued

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


def request_token(oauth: OAuthSettings, context: ssl.SSLContext, deadline: float, timeout: float) -> Token:
    """An access token for the mailbox; never logged, and kept out of every output like the client secret."""
    from http.client import HTTPException
    from urllib.request import Request

    shown = endpoint_shown(oauth.token_url)
    form = {"grant_type": "client_credentials", "client_id": oauth.client_id, **_credential(oauth)}
    form["scope"] = oauth.scope
    request = Request(oauth.token_url, data=urlencode(form).encode(), headers={"Accept": "application/json"})
    asked = time.monotonic()
    try:
        with Alarm(deadline):
            status, body, location = _post(request, context, oauth.proxies, timeout)
        answer = parsed(body)
    except (HTTPException, OSError) as failure:  # URLError is an OSError
        raise OAuthError(_unreachable(shown, getattr(failure, "reason", failure), timeout)) from None
    except PastBound as past:
        raise OAuthError(
            f"The OAuth2 token endpoint {shown} {past}, which is no token answer. Check oauth_token_url."
        ) from None
    if 300 <= status < 400:
        raise OAuthError(_redirected(shown, status, location))
    token = issued(status, answer, asked, _lifetime)
    if token is not None:
        return token
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        raise OAuthError(_refusal(shown, status, answer, _credential_item(oauth)))
    raise OAuthError(
        f"The OAuth2 token endpoint {shown} answered HTTP {status} without a token (no OAuth2 JSON). Check"
        " oauth_token_url: for Microsoft 365 it is https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token."
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


def fresh(token: Token, request: Callable[[], Token]) -> Token:
    """`token`, or once it is due the next one; a refused renewal is final for the job, though the messages
    already accepted keep their record."""
    if time.monotonic() < token.renew_at:
        return token
    try:
        return request()
    except OAuthError as failure:
        raise Permanent(f"The job outlived its OAuth2 token, and asking for the next one failed: {failure}") from None


def _lifetime(expires_in: object) -> float:
    """Seconds the token lasts, as the endpoint says (a number, or a numeric string); inf when it does not say."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError, OverflowError):
        return float("inf")
    return seconds if seconds > 0 else float("inf")


def _post(
    request: object, context: ssl.SSLContext, proxies: dict[str, str], timeout: float
) -> tuple[int, bytes, str | None]:
    """The endpoint's status, body and any redirect's target, whatever the status; through Cortex's proxy if set.

    A redirect is never followed: urllib would send the form again (307, 308), or turn the request
    into a GET (302) and take a token from wherever it points, plain http:// included.
    """
    from urllib.error import HTTPError
    from urllib.request import HTTPRedirectHandler, HTTPSHandler, ProxyHandler, build_opener

    class Unfollowed(HTTPRedirectHandler):
        def redirect_request(self, *args: object) -> None:
            return None  # urllib then raises the redirect as an HTTPError

    opener = build_opener(ProxyHandler(proxies or None), HTTPSHandler(context=context), Unfollowed())
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, _body(answer), None
    except HTTPError as refused:
        with refused:
            return refused.code, _body(refused), refused.headers.get("Location")


def _body(answer) -> bytes:
    return collected(iter(lambda: answer.read(1 << 16), b""), LARGEST_ANSWER)


def _redirected(shown: str, status: int, location: str | None) -> str:
    target = urlsplit(location or "")
    where = f" to {target.scheme}://{target.hostname}" if target.scheme and target.hostname else ""
    return (
        f"The OAuth2 token endpoint {shown} answered with a redirect (HTTP {status}){where}, which the responder"
        " does not follow: the app's credential goes to oauth_token_url only. Set oauth_token_url to the token"
        " endpoint itself (https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token for Microsoft 365)."
    )


def _refusal(shown: str, status: int, answer: dict, credential: str) -> str:
    # Entra adds Trace ID, Correlation ID and Timestamp after the sentence an admin needs.
    description = shortened(str(answer.get("error_description") or ""), 400).split(" Trace ID:")[0]
    code = re.match(r"AADSTS(\d+)", description)
    item = (code and AADSTS_ITEMS.get(code.group(1))) or ERROR_ITEMS.get(answer["error"])
    check = (item or "oauth_token_url, oauth_client_id, {credential} and oauth_scope").format(credential=credential)
    return scrub(
        f"The OAuth2 token endpoint {shown} refused the token request (HTTP {status}, {shortened(answer['error'], 80)}"
        f"{f': {description}' if description else ''}). Check {check}."
    )


def _unreachable(shown: str, reason: object, timeout: float) -> str:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (
            f"The certificate of the OAuth2 token endpoint {shown} could not be verified ({reason.verify_message})."
            " Put the CA that signed it in Cortex's cacerts setting or the system's trust store."
        )
    if isinstance(reason, BudgetSpent):
        why = str(reason)
    elif isinstance(reason, TimeoutError) or "timed out" in str(reason):
        why = f"no answer within {timeout:g} s"
    else:
        why = getattr(reason, "strerror", None) or type(reason).__name__
    return (
        f"The OAuth2 token endpoint {shown} could not be reached ({why}). Check oauth_token_url, that Cortex"
        " can reach it, and Cortex's proxy settings."
    )
