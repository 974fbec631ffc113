"""A reporter's Gmail language, for `language: auto` (docs/gmail.md).

`GET /gmail/v1/users/{address}/settings/language` answers `{"displayLanguage": "fr"}` to a token for
that user with the scope gmail.settings.basic: with domain-wide delegation, one token per reporter,
impersonating them (`sub`), asked only if the delegation lists the scope. The scope is optional, so
a refusal or a failure is `Unavailable`, which the caller turns into one warning.
"""

from __future__ import annotations

import ssl
from urllib.parse import quote

from feedback.alarm import timeout_within
from feedback.google.token import ServiceAccount, TokenRefused, request_token
from feedback.http_exchange import ClockedSession
from feedback.mailbox_settings import Service, Unavailable, asked
from feedback.reach import Reach
from feedback.redaction import shortened
from feedback.tokens import OAuthError

SETTINGS_SCOPE = "https://www.googleapis.com/auth/gmail.settings.basic"


def delegation(account: ServiceAccount) -> str:
    client = account.client_id or "the service account's client ID"
    return (
        "To use each reporter's own Gmail language, a Workspace super admin adds the scope"
        f" {SETTINGS_SCOPE} to the domain-wide delegation of client ID {client}, beside gmail.send"
        " (Admin console, Security → Access and data control → API controls; docs/gmail.md)."
    )


class GmailLanguages(ClockedSession):
    """The Gmail languages of a job's reporters, as `account`, over one session of its own, cut at `cutoff`."""

    def __init__(
        self, account: ServiceAccount, context: ssl.SSLContext, reach: Reach, root: str, cutoff: float
    ) -> None:
        super().__init__(context, reach.proxies, cutoff)
        self.account, self.reach, self.root, self.cutoff = account, reach, root, cutoff
        self.where = f"the Gmail API at {root}"

    def language(self, address: str) -> str | None:
        """The user's display language as Gmail gives it (`fr`, `en-GB`); None for a user Google does not know."""
        timeout = timeout_within(self.reach.timeout, self.cutoff)
        try:
            token = request_token(self.session, self.account, address, timeout, SETTINGS_SCOPE, pieces=False)
        except TokenRefused as refused:
            if refused.error == "invalid_grant" and "invalid email or user id" in str(refused).lower():
                return None
            if refused.error == "unauthorized_client" or refused.status in (401, 403):
                raise Unavailable(
                    f"Google would not give a token to read the language of {address}"
                    f" (HTTP {refused.status}, {shortened(refused.error, 40)}). {delegation(self.account)}"
                ) from None
            raise Unavailable(f"No Gmail language was read: {refused}") from None
        except OAuthError as failure:
            raise Unavailable(f"No Gmail language was read: {failure}") from None
        url = f"{self.root}/gmail/v1/users/{quote(address, safe='@')}/settings/language"
        service = Service(self.where, "language", "displayLanguage", _reason, delegation(self.account))
        return asked(self.session, url, timeout, {"Authorization": f"Bearer {token.value}"}, service, address)


def _reason(answer: object) -> str | None:
    """Google's error reason: {"error": {"errors": [{"reason": …}]}}."""
    error = answer.get("error") if isinstance(answer, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    reason = first.get("reason")
    return reason if isinstance(reason, str) else None
