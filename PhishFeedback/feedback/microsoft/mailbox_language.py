"""A reporter's mailbox language through Microsoft Graph, for `language: auto` (docs/graph.md).

`GET /users/{address}/mailboxSettings/language` answers `{"locale": "nl-BE", …}` to an app that holds
the application permission MailboxSettings.Read, which the job's own token carries once granted:
the job asks with the token it sends with. The permission is optional, so a refusal or a failure
is `Unavailable`, which the caller turns into one warning. requests is imported by Graph jobs only.
"""

from __future__ import annotations

from urllib.parse import quote

from feedback.alarm import timeout_within
from feedback.answers import Permanent
from feedback.api_session import Clock, Untrusted, exchange, open_session
from feedback.bounded_json import PastBound, parsed
from feedback.microsoft.graph import GraphTransport
from feedback.redaction import shortened
from feedback.reporter_languages import Unavailable
from feedback.tokens import OAuthError

# Graph answers with about 150 bytes.
LARGEST_ANSWER = 64 * 1024
PERMISSION = (
    "To use each reporter's own mailbox language, an admin grants the app of oauth_client_id the MailboxSettings.Read"
    " application permission, scoped to the reporters' mailboxes with RBAC for Applications in Exchange Online"
    ' (New-ManagementRoleAssignment -Role "Application MailboxSettings.Read" -CustomResourceScope; docs/graph.md).'
)


class GraphLanguages:
    """The mailbox languages of a job's reporters, over one session of its own, cut at `cutoff`."""

    def __init__(self, transport: GraphTransport, cutoff: float) -> None:
        self.transport, self.cutoff = transport, cutoff
        self.clock = Clock(cutoff)
        self.session = None

    def __enter__(self) -> GraphLanguages:
        try:
            self.token = self.transport._token()
        except (OAuthError, Permanent) as refused:
            raise Unavailable(f"No mailbox language was read: {refused}") from None
        self.clock.__enter__()
        self.session = open_session(self.transport.context, self.transport.graph.proxies, clock=self.clock)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.session is not None:
                self.session.close()
        finally:
            self.clock.__exit__(None, None, None)

    def language(self, address: str) -> str | None:
        """The mailbox's locale as Graph gives it (`nl-BE`); None for a mailbox Graph does not know."""
        graph = self.transport.graph
        url = f"{graph.url}/v1.0/users/{quote(address, safe='@')}/mailboxSettings/language"
        where = f"Microsoft Graph at {graph.url}"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        try:
            status, _, body = exchange(
                self.session, "GET", url, LARGEST_ANSWER, timeout_within(graph.timeout, self.cutoff), headers=headers
            )
            answer = parsed(body)
        except Untrusted:
            raise Unavailable(
                f"The certificate of {where} could not be verified; no mailbox language was read."
            ) from None
        except (OSError, PastBound) as failure:
            raise Unavailable(f"{where} gave no mailbox language for {address} ({failure}). {PERMISSION}") from None
        if status in (401, 403):
            raise Unavailable(
                f"{where} refused to read the mailbox language of {address} ({_said(status, answer)}). {PERMISSION}"
            )
        if status == 404:
            return None
        locale = answer.get("locale") if isinstance(answer, dict) else None
        if status != 200 or not isinstance(locale, str):
            raise Unavailable(f"{where} gave no mailbox language for {address} ({_said(status, answer)}). {PERMISSION}")
        return locale


def _said(status: int, answer: object) -> str:
    """Graph's status and error code, shortened, or what was wrong with its answer."""
    error = answer.get("error") if isinstance(answer, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, str):
        return f"HTTP {status} {shortened(code, 60)}"
    return f"HTTP {status}" if status != 200 else "an answer without a locale"
