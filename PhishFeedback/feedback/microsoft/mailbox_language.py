"""A reporter's mailbox language through Microsoft Graph, for `language: auto` (docs/graph.md).

`GET /users/{address}/mailboxSettings/language` answers `{"locale": "nl-BE", …}` to an app that holds
the application permission MailboxSettings.Read, which the job's own token carries once granted:
the job asks with the token it sends with. The permission is optional, so a refusal or a failure
is `Unavailable`, which the caller turns into one warning. The HTTP client is loaded by Graph jobs only.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from urllib.parse import quote

from feedback.alarm import timeout_within
from feedback.http_exchange import ClockedSession
from feedback.mailbox_settings import Service, Unavailable, asked
from feedback.microsoft.settings import GraphSettings
from feedback.tokens import OAuthError

PERMISSION = (
    "To use each reporter's own mailbox language, an admin grants the app of oauth_client_id the MailboxSettings.Read"
    " application permission, scoped to the reporters' mailboxes with RBAC for Applications in Exchange Online"
    ' (New-ManagementRoleAssignment -Role "Application MailboxSettings.Read" -CustomResourceScope; docs/graph.md).'
)


class GraphLanguages(ClockedSession):
    """The mailbox languages of a job's reporters, over one session of its own, cut at `cutoff`.

    `signed_in`: the job's token and the trust it was asked over (feedback/microsoft/graph.py), asked for on entering.
    """

    def __init__(
        self, graph: GraphSettings, signed_in: Callable[[], tuple[str, ssl.SSLContext]], cutoff: float
    ) -> None:
        super().__init__(None, graph.reach.proxies, cutoff)
        self.graph, self.signed_in, self.cutoff = graph, signed_in, cutoff

    def __enter__(self) -> GraphLanguages:
        """The job's token first (asked for now if delivery has not yet), and the trust that came with it."""
        try:
            self.token, self.context = self.signed_in()
        except OAuthError as refused:
            raise Unavailable(f"No mailbox language was read: {refused}") from None
        super().__enter__()
        return self

    def language(self, address: str) -> str | None:
        """The mailbox's locale as Graph gives it (`nl-BE`); None for a mailbox Graph does not know."""
        graph = self.graph
        url = f"{graph.url}/v1.0/users/{quote(address, safe='@')}/mailboxSettings/language"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        service = Service(f"Microsoft Graph at {graph.url}", "mailbox language", "locale", _code, PERMISSION)
        return asked(self.session, url, timeout_within(graph.reach.timeout, self.cutoff), headers, service, address)


def _code(answer: object) -> str | None:
    """Graph's error code: {"error": {"code": …}}."""
    error = answer.get("error") if isinstance(answer, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None
