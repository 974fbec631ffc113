"""How the responder logs in to the SMTP server: one function per way, chosen once per job.

`smtp_auth` chooses: `password` (smtp_user and smtp_password, when smtp_user is set), `oauth2`
(SASL XOAUTH2 with a token from the client-credentials grant, as Microsoft 365 wants from 2027) or
`none`. A refused login is final and never falls back to another way, nor to no login. `sessions`
settles the trust and the login once, and opens every session of the job with them.
"""

from __future__ import annotations

import smtplib
import ssl
from base64 import b64encode
from collections.abc import Callable
from functools import partial

from feedback.quota import words
from feedback.redaction import remember
from feedback.smtp.failures import LoginDeferred, shown_reply
from feedback.smtp.session import Session, timeout_for
from feedback.smtp.settings import SmtpSettings
from feedback.tokens import Token, TokenSource
from feedback.way_out import Permanent

# What an Exchange Online admin checks, by the enhanced status code that opens a refusal's text:
# of a login, or of MAIL FROM (where 5.7.57 and 5.7.60 come).
EXCHANGE_ADVICE = {
    "5.7.139": "SMTP AUTH is disabled for the tenant or the mailbox: an Exchange admin enables it for the mailbox"
    " in smtp_user (Set-CASMailbox <mailbox> -SmtpClientAuthenticationDisabled $false).",
    "5.7.3": "Exchange refused the token: an admin checks that the app of oauth_client_id has the SMTP.SendAsApp"
    " permission with admin consent, that its service principal is registered in Exchange (New-ServicePrincipal)"
    " with FullAccess to the mailbox in smtp_user (Add-MailboxPermission), and that SMTP AUTH is enabled for it.",
    "5.7.57": "Exchange does not count the session as logged in: check smtp_auth and smtp_user; an admin checks"
    " that SMTP AUTH is enabled for the mailbox in smtp_user and, with OAuth2, that the app of oauth_client_id has"
    " the SMTP.SendAsApp permission with admin consent.",
    "5.1.8": "Microsoft 365 has blocked the mailbox in smtp_user from sending, usually for suspected spam: an admin"
    " checks it in the Microsoft Defender portal (Restricted entities) and releases it.",
    "5.7.60": "The mailbox may not send as this sender: set 'from' to the mailbox in smtp_user, or give that"
    " mailbox the Send As right on the 'from' address.",
}
# RFC 5321 §4.5.3.1.4: a command line holds at most 512 octets, its CRLF included.
COMMAND_LINE_LIMIT = 512
# Exchange Online's answer to a password once Basic authentication is off for SMTP AUTH (the default
# from January 2027): "535 5.7.139 Authentication unsuccessful, basic authentication is disabled."
BASIC_AUTH_OFF = (
    "Microsoft 365 no longer takes a password for SMTP (Basic authentication is off): set smtp_auth to 'oauth2'"
    " and the oauth_* items, as the PhishFeedback project's docs/mail-services.md shows (README links it)."
)


def choose_login(smtp: SmtpSettings, context: ssl.SSLContext, deadline: float) -> Callable[[smtplib.SMTP], None]:
    """The job's one way to log in; for OAuth2 the token is requested here, and serves every session it lasts."""
    if smtp.auth == "oauth2":
        return OAuth2Login(smtp, context, deadline)
    if smtp.auth == "password" and smtp.user:
        return partial(auth_password, smtp=smtp)
    return auth_none


class OAuth2Login(TokenSource):
    """XOAUTH2 with the job's token; a session that starts once the token is due gets the next one first.

    Entra ID's token module is loaded here, by the OAuth2 jobs alone: a password job does not pay for it.
    """

    def __init__(self, smtp: SmtpSettings, context: ssl.SSLContext, deadline: float) -> None:
        from feedback.microsoft import token as entra

        self.entra, self.smtp, self.context, self.deadline = entra, smtp, context, deadline
        self.bearer()  # asked for now: a refusal is the job's error, before any session

    def __call__(self, connection: smtplib.SMTP) -> None:
        auth_xoauth2(connection, self.smtp, self.bearer())

    def request_token(self) -> Token:
        return self.entra.request_token(
            self.smtp.oauth, self.context, self.deadline, timeout_for(self.smtp, self.deadline)
        )


def exchange_advice(reply: str, otherwise: str) -> str:
    """What to check for a refusal whose text opens with one of Exchange's codes above, else `otherwise`.

    SendAsDenied, Exchange's refusal of the From address at the end of a message, means what 5.7.60 does.
    """
    return EXCHANGE_ADVICE.get("5.7.60" if "SendAsDenied" in words(reply) else reply.split(" ", 1)[0], otherwise)


def sender_advice(reply: str, smtp: SmtpSettings) -> str:
    """What to check when the server refuses the sender: Postfix names a login that may not use it, or says what it
    wants first (TLS, a login), which smtp_security 'none', smtp_auth 'none' or an empty smtp_user left out."""
    said = words(reply).lower()
    if "not owned by user" in said:
        return (
            "The login in smtp_user may not send as 'from': set 'from' to an address smtp_user owns, or let"
            " smtp_user send as it (Postfix: smtpd_sender_login_maps, read by reject_sender_login_mismatch)."
        )
    if "starttls" in said:
        return "The server takes mail only over TLS: set smtp_security to starttls (port 587) or tls (port 465)."
    if "authentication required" in said and smtp.auth == "password" and not smtp.user:
        return "The server takes mail only after a login: set smtp_user and smtp_password (or smtp_auth to oauth2)."
    if "authentication required" in said:
        return (
            "The server takes mail only after a login: set smtp_auth to password, with smtp_user and smtp_password,"
            " or to oauth2."
        )
    return exchange_advice(reply, "Check 'from', and smtp_user/smtp_password if the server wants a login.")


def sessions(smtp: SmtpSettings, deadline: float) -> Callable[[], Session]:
    """The job's trust and its one way in, settled once; each call opens a session with them."""
    context = smtp.reach.context()
    return partial(Session, smtp, context, deadline, choose_login(smtp, context, deadline))


def auth_none(connection: smtplib.SMTP) -> None:
    """A relay that takes mail without a login (smtp_auth 'none', or 'password' with no smtp_user)."""


def auth_password(connection: smtplib.SMTP, smtp: SmtpSettings) -> None:
    """PLAIN, else LOGIN, chosen once: a wrong password costs the account one failed login, not one per mechanism.

    smtplib's `login()` tries each offered mechanism in turn with the same password, and counts
    twice against a lockout threshold. RFC 4616 lets PLAIN carry UTF-8, and servers read LOGIN alike.
    """
    offered = _offered(connection, smtp)
    user, password = smtp.user, smtp.password or ""
    if "PLAIN" in offered:
        mechanism, answers = "PLAIN", [f"\0{user}\0{password}"]
    elif "LOGIN" in offered:
        mechanism, answers = "LOGIN", [user, password]
    else:
        raise Permanent(
            f"The SMTP server {smtp.where} offers no password login the responder uses ({_shown(offered)}):"
            " it needs PLAIN or LOGIN over TLS. Enable one on the server, or set smtp_auth to 'oauth2' for XOAUTH2."
        )
    encoded = [b64encode(answer.encode()).decode() for answer in answers]
    remember(encoded[-1])
    try:
        _sasl(connection, mechanism, encoded)
    except smtplib.SMTPAuthenticationError as refused:
        reply = shown_reply(refused.smtp_error)
        raise Permanent(
            f"The SMTP server {smtp.where} refused the login of '{user}': {refused.smtp_code} {reply}."
            f" {_password_advice(reply)}"
        ) from None


def _password_advice(reply: str) -> str:
    """Exchange's 5.7.139 is not a wrong password: password logins, or SMTP AUTH itself, are turned off."""
    if "basic authentication" in reply.lower():
        return BASIC_AUTH_OFF
    if reply.startswith("5.7.139"):
        return EXCHANGE_ADVICE["5.7.139"]
    return "Check smtp_user and smtp_password."


def auth_xoauth2(connection: smtplib.SMTP, smtp: SmtpSettings, token: str) -> None:
    """SASL XOAUTH2; a server that answers a refused token with a 334 challenge (Google) gets its empty line."""
    offered = _offered(connection, smtp)
    if "XOAUTH2" not in offered:
        raise Permanent(
            f"The SMTP server {smtp.where} does not offer XOAUTH2 (it offers {_shown(offered)}), and smtp_auth is"
            " 'oauth2'; the responder never falls back to a password. Check smtp_host (smtp.office365.com for"
            " Microsoft 365)."
        )
    initial = b64encode(f"user={smtp.user}\x01auth=Bearer {token}\x01\x01".encode()).decode()
    remember(initial)
    try:
        _sasl(connection, "XOAUTH2", [initial, ""])
    except smtplib.SMTPAuthenticationError as refused:
        reply = shown_reply(refused.smtp_error)
        advice = exchange_advice(reply, "Check that the app of oauth_client_id may send as the mailbox in smtp_user.")
        raise Permanent(
            f"The SMTP server {smtp.where} refused the OAuth2 login (XOAUTH2) of '{smtp.user}': {refused.smtp_code}"
            f" {reply}. {advice}"
        ) from None


def _offered(connection: smtplib.SMTP, smtp: SmtpSettings) -> list[str]:
    connection.ehlo_or_helo_if_needed()
    if not connection.has_extn("auth"):
        raise Permanent(
            f"The SMTP server {smtp.where} offers no login (AUTH) although smtp_user is set; the"
            " responder does not send without it. Check the server, or clear smtp_user for a relay that needs none."
        )
    return connection.esmtp_features["auth"].upper().split()


def _shown(offered: list[str]) -> str:
    """The mechanisms as the server's reply gave them: its words, scrubbed, printable and cut as any reply (a hostile
    server may quote a secret over several AUTH lines, or send control characters there)."""
    return shown_reply(" ".join(offered)).replace(" ", ", ")


def _sasl(connection: smtplib.SMTP, mechanism: str, answers: list[str]) -> None:
    """AUTH, then one answer per 334 challenge, each already in base64; the first rides on the AUTH line if it fits.

    RFC 4954 §4: no initial response when it would make the command line longer than SMTP allows
    (Postfix refuses an XOAUTH2 line with a long Entra token; after the 334 the same token logs in).
    A 4xx is the server unable to check the login for now (RFC 4954 §6): `LoginDeferred`, retried.
    smtplib's own `auth` sends ASCII only, and on Python 3.9 cannot send XOAUTH2's empty answer.
    """
    if len(f"AUTH {mechanism} {answers[0]}\r\n") <= COMMAND_LINE_LIMIT:
        code, reply = connection.docmd("AUTH", f"{mechanism} {answers[0]}")
        answers = answers[1:]
    else:
        code, reply = connection.docmd("AUTH", mechanism)
    for answer in answers:
        if code != 334:
            break
        code, reply = connection.docmd(answer)
    if 400 <= code < 500:
        raise LoginDeferred(code, shown_reply(reply))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)
