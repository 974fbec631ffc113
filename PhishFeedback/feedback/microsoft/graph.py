"""Microsoft Graph as a way out: sendMail with the whole MIME message, as the mailbox in 'from' (docs/graph.md).

For the tenants where SMTP AUTH is off (the default since 2020): the `Mail.Send` application
permission, scoped to one mailbox, is all the app holds. One token per job (Entra ID's client
credentials, feedback/microsoft/token.py) and one session of the HTTP client (feedback/api_session.py), so that a whole
campaign goes over one kept-alive TLS connection. Graph's replies (docs/cortex-and-thehive.md §8b) become the delivery
policy's answers here. The HTTP client is loaded by the jobs that send through Graph only.
"""

from __future__ import annotations

import base64
import ssl
from email.message import EmailMessage
from urllib.parse import quote

from feedback import way_out
from feedback.alarm import Clock, timeout_within
from feedback.api_session import open_session
from feedback.http_way_out import Reply, SessionChannel, post_message
from feedback.microsoft.settings import GraphSettings
from feedback.microsoft.token import request_token
from feedback.pacing import Limits
from feedback.quota import speaks_of_quota
from feedback.redaction import shortened
from feedback.retry_after import retry_after
from feedback.tokens import Token, TokenSource
from feedback.way_out import EXCHANGE_LIMITS, Answer, Check, Drops, Transport, not_the_service, quota_stop, stop

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from feedback.microsoft.mailbox_language import GraphLanguages

# Graph answers a sendMail with nothing (202) or a small JSON error: more is not Graph, and is not read.
LARGEST_ANSWER = 64 * 1024
ACCEPTED = 202
GRANT = (
    "An admin grants the app of oauth_client_id the Mail.Send application permission, scoped to this mailbox with"
    " RBAC for Applications in Exchange Online (New-ServicePrincipal, New-ManagementScope,"
    ' New-ManagementRoleAssignment -Role "Application Mail.Send" -CustomResourceScope), and checks it with'
    " Test-ServicePrincipalAuthorization (docs/graph.md)."
)
# Graph's error codes that concern every message of the job, as the admin reads them; {mailbox} is 'from'.
EVERY_MESSAGE = {
    "ErrorSendAsDenied": "The app may not send as {mailbox}. " + GRANT,
    "ErrorAccessDenied": "The app has no right to send as {mailbox}. " + GRANT,
    "MailboxNotEnabledForRESTAPI": "The mailbox {mailbox} cannot send through Graph: it must be an Exchange Online"
    " mailbox with a license, neither inactive nor on-premises. Set 'from' to such a mailbox.",
    "ErrorInvalidUser": "Graph knows no mailbox {mailbox}. Set 'from' to the address of the sending mailbox.",
    "ResourceNotFound": "Graph knows no mailbox {mailbox}. Set 'from' to the address of the sending mailbox.",
}
# Exchange's refusals of a message too large (400), whatever its recipient: so is every other message of the job.
TOO_LARGE = ("ErrorMessageSizeExceeded", "ErrorAttachmentSizeLimitExceeded")
# A 401: the token is not one Graph takes.
REFUSED_TOKEN = (
    "Graph refused the token: check that oauth_token_url is the token endpoint of the tenant, in the same cloud as"
    " graph_url, and that oauth_scope is left at its default (or is <graph_url>/.default). " + GRANT
)


class GraphTransport(Transport, TokenSource):
    advice = "Check graph_url, that Cortex can reach it, and Cortex's proxy settings"
    url_advice = "Check graph_url: it must be the root of Microsoft Graph."

    def __init__(self, graph: GraphSettings, mailbox: str, deadline: float) -> None:
        self.graph, self.reach, self.mailbox, self.deadline = graph, graph.reach, mailbox, deadline
        self.name = f"Microsoft Graph at {graph.url}"
        self.sent_record = f"the Sent Items of {mailbox}"
        self.drops = Drops()
        self.endpoint = f"{graph.url}/v1.0/users/{quote(mailbox, safe='@')}/sendMail"
        self.context = None
        self.session = None  # the job's one session, made at the first channel
        self.clock = Clock(deadline)  # entered around each request: it shuts the session's sockets at the deadline

    def channel(self) -> SessionChannel:
        return SessionChannel(self)

    def check(self, recipients: list[str], limits: Limits) -> Check:
        """A channel opened as a send opens it, the token got, is all a dry run can do: Mail.Send reads nothing, so no
        request could test the right to send."""
        with self.channel():
            pass
        sentence = (
            f"The dry run got a token and asked {self.name} nothing: the app's Mail.Send permission lets it read"
            f" nothing, so whether it may send as {self.mailbox}, and whether each reporter's address is taken, shows"
            " only when the messages go out."
        )
        return Check((), (sentence,))

    def languages(self, cutoff: float) -> GraphLanguages:
        """Asked with the token the job sends with, which the app's MailboxSettings.Read lets it read; loaded by
        `language: auto` jobs only."""
        from feedback.microsoft.mailbox_language import GraphLanguages

        return GraphLanguages(self.graph, self.signed_in, cutoff)

    def signed_in(self) -> tuple[str, ssl.SSLContext]:
        """The job's token (asked for now if no channel has yet) and the trust it was asked over."""
        return self._token(), self.context

    def _token(self) -> str:
        """The job's token, asked for at the first channel (a refusal is the job's error); renewed when due."""
        if self.context is None:
            self.context = self.reach.context()
        return self.bearer()

    def request_token(self) -> Token:
        return request_token(self.graph.oauth, self.context, self.deadline, self.timeout_now())

    def timeout_now(self) -> float:
        return timeout_within(self.reach.timeout, self.deadline)

    def connect(self) -> None:
        """The token first (a refusal is the job's error, before anything is sent), then the session."""
        self._token()
        if self.session is None:
            # No POST is retried: a message Graph took but whose answer was lost would go twice.
            self.session = open_session(self.context, self.reach.proxies, clock=self.clock)

    def post(self, message: EmailMessage, recipient: str) -> Answer:
        mime = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        request = {
            "data": base64.b64encode(mime),
            "headers": {"Authorization": f"Bearer {self._token()}", "Content-Type": "text/plain"},
        }
        with self.clock:
            return post_message(
                self, recipient, self.session, self.endpoint, LARGEST_ANSWER, self.timeout_now(), **request
            )

    def answer(self, reply: Reply, recipient: str) -> Answer:
        """The policy's answer to Graph's reply (docs/graph.md, "What Graph's replies mean": each status and code); 202
        with no body is the message accepted, and so is one whose body broke off; with a body of any kind it is
        another party's answer. The refusals name no recipient: Graph's message says which."""
        status = reply.status
        if status == ACCEPTED and reply.body is None and not reply.foreign:
            return way_out.TAKEN
        if 200 <= status < 300:
            content_type = reply.headers.get("Content-Type")
            return not_the_service(self.name, status, content_type, "202, and nothing more", "graph_url")
        code, text = _error(reply.body)
        wait_header = reply.headers.get("Retry-After")
        said = f"{status} {code}: {text}" if code else f"{status} {text}".rstrip()
        if speaks_of_quota(f"{code} {text}"):
            return quota_stop(self.name, said, EXCHANGE_LIMITS)
        if status in (408, 429) or status >= 500:
            return Answer(way_out.RECONNECT, f"the last answer from {self.name} was {said}", retry_after(wait_header))
        if status == 401:
            return self._stop(said, REFUSED_TOKEN)
        if code in EVERY_MESSAGE:
            return self._stop(said, EVERY_MESSAGE[code].format(mailbox=self.mailbox))
        if status == 413 or code in TOO_LARGE or "maximum request length" in text:
            return self._stop(said, "The message is larger than Graph takes (4 MB): shorten the templates.")
        if code == "ErrorInvalidRecipients" or 400 <= status < 500 and status not in (403, 404):
            return Answer(way_out.REFUSED, f"the message was refused by {self.name}: {said}", None)
        if status == 403:
            return self._stop(said, GRANT)
        if status == 404:
            return self._stop(said, EVERY_MESSAGE["ResourceNotFound"].format(mailbox=self.mailbox))
        return self._stop(said, self.url_advice)

    def _stop(self, reply: str, advice: str) -> Answer:
        return stop(f"{self.name} refused to send as {self.mailbox} ({reply}). {advice}")


def _error(answer: object) -> tuple[str, str]:
    """Graph's {"error": {"code", "message"}}: the code and the message, each on one line, scrubbed and shortened."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return "", ""
    code, text = error.get("code"), error.get("message")
    return shortened(code if isinstance(code, str) else "", 60), shortened(str(text or ""), 300)
