"""A reporter's Gmail language, for `language: auto` (docs/gmail.md).

`GET /gmail/v1/users/{address}/settings/language` answers `{"displayLanguage": "fr"}` to a token for
that user with the scope gmail.settings.basic: with domain-wide delegation, one token per reporter,
impersonating them (`sub`), asked only if the delegation lists the scope. The scope is optional, so
a refusal or a failure is `Unavailable`, which the caller turns into one warning.
"""

from __future__ import annotations

from urllib.parse import quote

from feedback.alarm import timeout_within
from feedback.answers import Permanent
from feedback.api_session import Clock, Untrusted, exchange, open_session
from feedback.bounded_json import PastBound, parsed
from feedback.google.gmail import GmailTransport
from feedback.google.token import TokenRefused, request_token
from feedback.redaction import shortened
from feedback.reporter_languages import Unavailable

SETTINGS_SCOPE = "https://www.googleapis.com/auth/gmail.settings.basic"
# Gmail answers with about 30 bytes.
LARGEST_ANSWER = 64 * 1024


def delegation(transport: GmailTransport) -> str:
    client = transport.account.client_id or "the service account's client ID"
    return (
        "To use each reporter's own Gmail language, a Workspace super admin adds the scope"
        f" {SETTINGS_SCOPE} to the domain-wide delegation of client ID {client}, beside gmail.send"
        " (Admin console, Security → Access and data control → API controls; docs/gmail.md)."
    )


class GmailLanguages:
    """The Gmail languages of a job's reporters, over one session of its own, cut at `cutoff`."""

    def __init__(self, transport: GmailTransport, gmail_url: str, cutoff: float) -> None:
        self.transport, self.root, self.cutoff = transport, gmail_url.rstrip("/"), cutoff
        self.where = f"the Gmail API at {self.root}"
        self.clock = Clock(cutoff)
        self.session = None

    def __enter__(self) -> GmailLanguages:
        self.clock.__enter__()
        self.session = open_session(self.transport.context, self.transport.proxies, clock=self.clock)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.session is not None:
                self.session.close()
        finally:
            self.clock.__exit__(None, None, None)

    def language(self, address: str) -> str | None:
        """The user's display language as Gmail gives it (`fr`, `en-GB`); None for a user Google does not know."""
        transport, timeout = self.transport, timeout_within(self.transport.timeout, self.cutoff)
        try:
            token = request_token(self.session, transport.account, address, timeout, SETTINGS_SCOPE)
        except TokenRefused as refused:
            if refused.error == "invalid_grant" and "invalid email or user id" in str(refused).lower():
                return None
            if refused.error == "unauthorized_client" or refused.status in (401, 403):
                raise Unavailable(
                    f"Google would not give a token to read the language of {address}"
                    f" (HTTP {refused.status}, {shortened(refused.error, 40)}). {delegation(transport)}"
                ) from None
            raise Unavailable(f"No Gmail language was read: {refused}") from None
        except Permanent as failure:
            raise Unavailable(f"No Gmail language was read: {failure}") from None
        url = f"{self.root}/gmail/v1/users/{quote(address, safe='@')}/settings/language"
        try:
            status, _, body = exchange(
                self.session, "GET", url, LARGEST_ANSWER, timeout, headers={"Authorization": f"Bearer {token.value}"}
            )
            answer = parsed(body)
        except Untrusted:
            raise Unavailable(f"The certificate of {self.where} could not be verified; no language was read.") from None
        except (OSError, PastBound) as failure:
            raise Unavailable(f"{self.where} gave no language for {address} ({failure}).") from None
        if status == 404:
            return None
        if status in (401, 403):
            raise Unavailable(
                f"{self.where} refused to read the language of {address} ({_said(status, answer)})."
                f" {delegation(transport)}"
            )
        language = answer.get("displayLanguage") if isinstance(answer, dict) else None
        if status != 200 or not isinstance(language, str):
            raise Unavailable(f"{self.where} gave no language for {address} ({_said(status, answer)}).")
        return language


def _said(status: int, answer: object) -> str:
    """Google's status and error reason, shortened, or what was wrong with its answer."""
    error = answer.get("error") if isinstance(answer, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    reason = first.get("reason")
    if isinstance(reason, str):
        return f"HTTP {status} {shortened(reason, 60)}"
    return f"HTTP {status}" if status != 200 else "an answer without a displayLanguage"
