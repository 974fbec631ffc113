"""An access token the job holds, whoever issued it (Entra ID, Google): what is taken as one, when it is renewed,
and how errors name the endpoint that issued it.

A token is a secret from the moment it arrives: it is remembered (feedback/redaction.py) before
anything else is done with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from feedback.redaction import remember
from feedback.shapes import shape
from feedback.way_out import Permanent, Trouble

# A token is renewed once this share of its lifetime has passed, so that no session starts with one about to end.
RENEWAL_SHARE = 0.9
# Entra ID's are a few kB, Google's at most 2 kB: a longer one would take tens of MB to remember in every form.
LONGEST_TOKEN = 16 * 1024
FOR_NOW = "The endpoint is failing for now: run the responder again in a few minutes."


@shape
class Token:
    value: str
    renew_at: float  # time.monotonic() from which a new session needs the next token (inf: never)


class OAuthError(Permanent):
    """No token: the message says what the token endpoint answered and which item to check.

    It is Permanent: to the delivery policy, a job without a token sends nothing more. `passing`: the endpoint
    was unreachable, slow or failing for now (a timeout, a 5xx), which another try later may get past.
    """

    def __init__(self, message: str, *, passing: bool = False) -> None:
        super().__init__(message)
        self.passing = passing


class TokenSource:
    """The bearer token a job holds (for SMTP's XOAUTH2, Graph or the Gmail API): asked for at first use, renewed
    once due. A subclass says how a token is asked for; a renewal refused is final for the job, though the
    messages already accepted keep their record; one that failed for now is trouble the delivery policy retries."""

    token: Token | None = None

    def request_token(self) -> Token:
        raise NotImplementedError

    def bearer(self) -> str:
        if self.token is None:
            self.token = self.request_token()
        elif time.monotonic() >= self.token.renew_at:
            try:
                self.token = self.request_token()
            except OAuthError as failure:
                said = f"The job outlived its OAuth2 token, and asking for the next one failed: {failure}"
                raise (Trouble(said, whole=True) if failure.passing else OAuthError(said)) from None
        return self.token.value


def issued(
    status: int, answer: object, asked: float, lifetime: Callable[[object], float], *, pieces: bool = True
) -> Token | None:
    """The token of a successful OAuth2 answer ({"access_token": …}), printable ASCII and not empty; else None.

    `lifetime` reads the answer's `expires_in` as its issuer means it; `asked` is when the request
    went out, so that the renewal comes early rather than late. `pieces`: as feedback/redaction.py remembers it.
    """
    value = answer.get("access_token") if isinstance(answer, dict) else None
    if status != 200 or not isinstance(value, str) or not value or not (value.isascii() and value.isprintable()):
        return None
    if len(value) > LONGEST_TOKEN:
        raise OAuthError(
            f"The token endpoint answered with a token of {len(value):,} characters, longer than any token Entra ID or"
            f" Google issues ({LONGEST_TOKEN:,} at most here): something else answered in its place. Check the token"
            " URL (oauth_token_url, or the service account key's token_uri) and Cortex's proxy settings."
        )
    remember(value, pieces=pieces)
    return Token(value, asked + lifetime(answer.get("expires_in")) * RENEWAL_SHARE)


def failing_for_now(status: int) -> bool:
    """A token endpoint's answer with a 5xx (Entra ID's AADSTS90033 "A transient error", Google's internal error):
    no item is wrong, and a try later may get past it, as past a timeout."""
    return status >= 500


def advice(status: int, pointed: str | None, otherwise: str) -> str:
    """The end of a refusal's sentence: what the endpoint's words point the admin to; else, when it is failing for
    now, to try again later rather than check items that are right."""
    return pointed or (FOR_NOW if failing_for_now(status) else otherwise)


def endpoint_shown(url: str) -> str:
    """The token endpoint as errors name it: its host, port and path, never a query or credentials."""
    parts = urlsplit(url)
    return f"https://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
