"""A real SMTP server on loopback, as strict as a company relay: STARTTLS, AUTH, and faults on demand."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import ssl
import threading
import time
from base64 import b64decode
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult

from testkit.ports import free_port

# aiosmtpd logs a deprecation warning for every login; the demo's output is for people.
logging.getLogger("mail.log").setLevel(logging.ERROR)

# Exchange Online's reply past its sending limits (docs/cortex-and-thehive.md §8).
QUOTA_REPLY = (
    "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException;"
    " Failed to process message due to a permanent exception"
)
THROTTLE_REPLY = "451 4.7.500 Server busy. Please try again later"
# Postfix's reply past smtpd_client_recipient_rate_limit, about the client, not the recipient.
RATE_REPLY = "450 4.7.1 Error: too many recipients from 127.0.0.1"
CLOSING_REPLY = "421 4.3.2 Service not available, closing transmission channel"

USER = "phishfeedback"
PASSWORD = "Corr3ct-Horse-Battery-Staple"


class Certificates:
    """A private CA and a server certificate for localhost and 127.0.0.1, as trustme makes them."""

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.server = self.ca.issue_cert("localhost", "127.0.0.1")
        self.ca_pem = self.ca.cert_pem.bytes().decode()

    def server_context(self, certificate: trustme.LeafCert | None = None) -> ssl.SSLContext:
        """A server's TLS context presenting `certificate` (one the CA issued), by default the localhost one."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        (certificate or self.server).configure_cert(context)
        return context


class IntermediateCertificates(Certificates):
    """A root CA, an internal intermediate it signed, and a server certificate the intermediate issued.

    The server presents its certificate and the intermediate's; `ca_pem` is the intermediate alone, as an
    admin pastes the CA that issued the server's certificate, `root_pem` the root above it.
    """

    def __init__(self, *hosts: str) -> None:
        root = trustme.CA()
        self.ca = root.create_child_ca()
        self.server = self.ca.issue_cert(*(hosts or ("localhost", "127.0.0.1")))
        self.ca_pem = self.ca.cert_pem.bytes().decode()
        self.root_pem = root.cert_pem.bytes().decode()


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML of a message, as a reporter's mail reader shows them (line ends as '\\n')."""
    text, html = (message.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))
    return text, html


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    login: str | None
    content: bytes
    arrived: float = field(default_factory=time.monotonic)

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)

    def shown(self) -> str:
        """The message as a person reads it in a terminal: who, the headers, the plain text, the HTML's size."""
        message = self.message
        html = message.get_body(("html",))
        return "".join(
            [
                f"== Delivered to {', '.join(self.rcpt_tos)} (login {self.login}), {len(self.content)} bytes\n",
                *(f"{name}: {value}\n" for name, value in message.items()),
                "\n" + message.get_body(("plain",)).get_content().replace("\r\n", "\n") + "\n",
                f"== and its HTML alternative ({len(html.get_content()) if html else 0} characters)\n",
            ]
        )


@dataclass
class Faults:
    """Trouble the server makes on purpose; counters go down as each fault is used."""

    refuse_sender: str = ""
    refuse: dict[str, str] = field(default_factory=dict)
    # The reply to every RCPT TO (each refused recipient is noted in `refused`), as Postfix's
    # reject_sender_login_mismatch refuses the sender there.
    refuse_rcpt: str = ""
    defer_rcpt: dict[str, int] = field(default_factory=dict)
    # Recipients one transaction takes; past them, "452 4.5.3 Error: too many recipients" as Postfix says it.
    max_recipients: int = 0
    # Recipients taken from this client per so many seconds, as Postfix's smtpd_client_recipient_rate_limit counts
    # them: past those, RATE_REPLY to every RCPT TO until the time unit is over.
    rcpt_rate: tuple[int, float] = (0, 0.0)
    # Seconds the server takes to answer each RCPT TO.
    rcpt_delay: float = 0.0
    # Seconds the server takes to answer RCPT TO for these recipients (rcpt_delay for the others).
    rcpt_delay_for: dict[str, float] = field(default_factory=dict)
    # RCPT TO for these recipients answered once the test sets their event (within a minute): a job held mid-send
    # for as long as the test needs, however slowly a busy machine starts what the test runs beside it.
    rcpt_held_for: dict[str, threading.Event] = field(default_factory=dict)
    # After this many recipients refused (`refuse`) in one session, 421 to the next RCPT TO and the connection
    # closed, as Postfix does past smtpd_hard_error_limit (20 by default).
    hard_errors: int = 0
    defer_data: int = 0
    drop_data: int = 0
    # Once this many were delivered: the next message is held `stall_for` s at its end, then "451 4.4.2 Stalled on
    # purpose" (a server that decides slowly, and finally not).
    stall_after: int = -1
    stall_for: float = 60.0
    # After this many messages in one session: 421 to the next MAIL FROM, and the connection closed.
    per_session: int = 0
    # Once this many were delivered: the connection closed without a word at the next MAIL FROM (once).
    drop_after: int = -1
    # Once this many were delivered: `throttled` more MAIL FROM answered THROTTLE_REPLY.
    throttle_after: int = -1
    throttled: int = 0
    # Once this many were delivered: every message refused at its end with `limit_reply` (a 421 also closes).
    limit_after: int = -1
    limit_reply: str = QUOTA_REPLY
    # The login and password the server accepts (a test may configure a password with odd white space or characters,
    # or a login that is an address).
    user: str = USER
    password: str = PASSWORD
    # A hostile server's answer to every AUTH, quoting what the client sent: {password} as it arrived,
    # {plain} (the base64 of "\0user\0password" the client sent for PLAIN), {login} (base64 of the password).
    auth_reply: str = ""
    # How many logins in a row get "454 4.7.0 Temporary authentication failure" (Postfix when Dovecot is slow).
    defer_auth: int = 0
    # The lines of each EHLO reply, from aiosmtpd's and whether the session is under TLS: extra AUTH lines, or a
    # refusal (a last line that is no 250; a 421 closes the connection).
    ehlo: Callable[[list[str], bool], list[str]] | None = None
    # The reply to every HELO, if it is to be refused.
    helo_reply: str = ""
    # A reply the server sends with its next `early_replies` 354s, in the same write, before the message came.
    early_reply: str = ""
    early_replies: int = 1
    # A reply the server sends in place of every 354 (a server out of step: it then reads no message).
    data_reply: str = ""
    # Seconds the server waits after its 354 before it reads the message (a server slower to read than the client to
    # write, whose buffers fill meanwhile).
    read_delay: float = 0.0
    # The reply to a message's end, once it is delivered.
    accepted_reply: str = "250 2.0.0 Message accepted"
    # Called when the client says QUIT, before the server answers it.
    on_quit: Callable[[], None] | None = None
    # Called when a message has arrived; an accepted one is delivered, then answered `verdict_delay` s later.
    on_data: Callable[[], None] | None = None
    verdict_delay: float = 0.0


@dataclass
class XOAuth2:
    """What the server takes for SASL XOAUTH2 (docs/cortex-and-thehive.md §8), and how it refuses the rest.

    `tokens` maps each bearer token it accepts to the mailbox it may send as, `expiry` a token to the
    time.monotonic() from which it is refused as expired. `style` "exchange"
    refuses at once with `reply`; "google" first sends a 334 with a base64 JSON status and waits
    for the client's empty line. `echo` quotes the client's AUTH string in the refusal; with `split`, over
    several reply lines of that many characters, each opening with the reply's codes (RFC 2034 §4).
    """

    tokens: dict[str, str] = field(default_factory=dict)
    expiry: dict[str, float] = field(default_factory=dict)
    style: str = "exchange"
    reply: str = ""
    echo: bool = False
    split: int = 0

    def honour(self, token: str, mailbox: str, lifetime: float) -> None:
        """Take `token` for `mailbox` until `lifetime` s from now."""
        self.tokens[token] = mailbox
        self.expiry[token] = time.monotonic() + lifetime

    def refusal(self, sent: str) -> str:
        default = {
            "exchange": "535 5.7.3 Authentication unsuccessful [AM0PR10CA0001.EURPRD10.PROD.OUTLOOK.COM]",
            "google": "535 5.7.8 Username and Password not accepted. https://support.google.com/mail/?p=BadCredentials",
        }[self.style]
        reply = self.reply or default
        if self.echo and self.split:
            codes = reply.split()[:2]
            pieces = [sent[i : i + self.split] for i in range(0, len(sent), self.split)]
            return "\r\n".join([*(f"{codes[0]}-{codes[1]} {piece}" for piece in pieces), reply])
        return f"{reply}{f' {sent}' if self.echo else ''}"


class _Handler:
    def __init__(self, server: LoopbackSmtp) -> None:
        self.server = server
        self.rate_since, self.rate_count = 0.0, 0  # the time unit of `rcpt_rate`, and the recipients it counted

    async def handle_EHLO(self, smtp, session, envelope, hostname, responses):
        """With this hook, aiosmtpd leaves it to the handler to note the name (and with it, that EHLO was said)."""
        self.server.ehlo_names.append(hostname)
        if self.server.faults.ehlo:
            responses = self.server.faults.ehlo(responses, smtp._tls_protocol is not None)
            if not responses[-1].startswith("250"):
                return [_closing(smtp, responses[-1])] if responses[-1].startswith("421") else responses
        session.host_name = hostname
        return responses

    async def handle_HELO(self, smtp, session, envelope, hostname):
        """As with EHLO's hook, the handler notes the name."""
        if self.server.faults.helo_reply:
            return self.server.faults.helo_reply
        session.host_name = hostname
        self.server.ehlo_names.append(hostname)
        return f"250 {smtp.hostname}"

    async def handle_MAIL(self, smtp, session, envelope, address, mail_options):
        self.server.said.append(f"MAIL {address}")
        if self.server.faults.refuse_sender:
            return self.server.faults.refuse_sender
        faults, delivered = self.server.faults, len(self.server.delivered)
        if faults.per_session and getattr(session, "messages", 0) >= faults.per_session:
            return _closing(smtp, CLOSING_REPLY)
        if faults.drop_after == delivered:
            faults.drop_after = -1
            smtp.transport.close()
            return CLOSING_REPLY
        if 0 <= faults.throttle_after <= delivered and faults.throttled > 0:
            faults.throttled -= 1
            return THROTTLE_REPLY
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        faults = self.server.faults
        self.server.said.append(f"RCPT {address}")
        await asyncio.sleep(faults.rcpt_delay_for.get(address.lower(), faults.rcpt_delay))
        if address.lower() in faults.rcpt_held_for:
            await asyncio.get_running_loop().run_in_executor(None, faults.rcpt_held_for[address.lower()].wait, 60)
        if faults.hard_errors and getattr(session, "errors", 0) >= faults.hard_errors:
            return _closing(smtp, "421 4.7.0 mail.example.org Error: too many errors")
        if faults.max_recipients and len(envelope.rcpt_tos) >= faults.max_recipients:
            return "452 4.5.3 Error: too many recipients"
        if faults.rcpt_rate[0] and self._past_the_rate(faults.rcpt_rate):
            return RATE_REPLY
        if address.lower() in faults.refuse:
            session.errors = getattr(session, "errors", 0) + 1
            return faults.refuse[address.lower()]
        if faults.refuse_rcpt:
            self.server.refused.append(address)
            return faults.refuse_rcpt.format(sender=envelope.mail_from)
        if faults.defer_rcpt.get(address.lower(), 0) > 0:
            faults.defer_rcpt[address.lower()] -= 1
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _past_the_rate(self, rate: tuple[int, float]) -> bool:
        taken, unit = rate
        now = time.monotonic()
        if now - self.rate_since >= unit:
            self.rate_since, self.rate_count = now, 0
        self.rate_count += 1
        return self.rate_count > taken

    async def handle_RSET(self, smtp, session, envelope):
        self.server.said.append("RSET")
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        self.server.said.append("DATA")
        faults = self.server.faults
        if faults.on_data:
            faults.on_data()
        if faults.stall_after == len(self.server.delivered):
            await asyncio.sleep(faults.stall_for)
            return "451 4.4.2 Stalled on purpose"
        if faults.drop_data > 0:
            faults.drop_data -= 1
            smtp.transport.close()
            return "421 4.4.2 Connection dropped"
        if faults.defer_data > 0:
            faults.defer_data -= 1
            return "451 4.3.0 Temporary failure, try again later"
        if 0 <= faults.limit_after <= len(self.server.delivered):
            self.server.refused.append(envelope.rcpt_tos[0])
            return _closing(smtp, faults.limit_reply) if faults.limit_reply.startswith("421") else faults.limit_reply
        login = session.auth_data if session.authenticated else None
        self.server.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), login, envelope.content))
        session.messages = getattr(session, "messages", 0) + 1
        # Committed before the answer, as real servers do: a client gone meanwhile does not take the message back.
        await asyncio.sleep(faults.verdict_delay)
        return faults.accepted_reply

    async def auth_XOAUTH2(self, server, args):
        """aiosmtpd runs one handler method per AUTH mechanism; LOGIN and PLAIN stay offered beside it."""
        oauth = self.server.xoauth2
        if len(args) > 1:
            sent = args[1]
        else:  # no initial response (RFC 4954 §4): the string comes after an empty 334
            answer = await server.challenge_auth("")
            if answer is MISSING:
                return AuthResult(success=False, handled=True)
            sent = base64.b64encode(answer).decode()
        fields = dict(p.split("=", 1) for p in b64decode(sent).decode(errors="replace").split("\x01") if "=" in p)
        mailbox, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        fresh = time.monotonic() < oauth.expiry.get(token, float("inf"))
        good = bool(mailbox) and oauth.tokens.get(token) == mailbox and fresh
        self.server.xoauth2_logins.append((mailbox, good))
        if good:
            return AuthResult(success=True, auth_data=mailbox)
        if oauth.style == "google":
            status = {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}
            if await server.challenge_auth(json.dumps(status)) is MISSING:
                return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message=oauth.refusal(sent))

    async def handle_QUIT(self, smtp, session, envelope):
        self.server.said.append("QUIT")
        if self.server.faults.on_quit:
            self.server.faults.on_quit()
        return "221 Bye"


def _closing(smtp, reply: str) -> str:
    """The reply goes out first (a handler's answer is written before the loop runs this), then the close."""
    asyncio.get_running_loop().call_soon(smtp.transport.close)
    return reply


class _Smtpd(SMTP):
    """aiosmtpd reads every line within DATA's 1001 octets; Postfix takes a SASL response after a 334
    up to 12288 (smtpd_sasl_response_limit), where a long OAuth2 token goes. A 354 may carry `early_reply`, or be
    followed by `read_delay`."""

    async def push(self, status: str):
        faults = self.event_handler.server.faults
        if isinstance(status, str) and status.startswith("354") and faults.early_reply and faults.early_replies > 0:
            status, faults.early_replies = f"{status}\r\n{faults.early_reply}", faults.early_replies - 1
        elif isinstance(status, str) and status.startswith("354") and faults.data_reply:
            status = faults.data_reply
        await super().push(status)
        if isinstance(status, str) and status.startswith("354"):
            await asyncio.sleep(faults.read_delay)

    async def challenge_auth(self, *args, **kwargs):
        self._reader._limit = 12288
        try:
            return await super().challenge_auth(*args, **kwargs)
        finally:
            self._reader._limit = self.line_length_limit


class _Controller(Controller):
    def factory(self) -> _Smtpd:
        return _Smtpd(self.handler, **self.SMTP_kwargs)


class LoopbackSmtp:
    """An aiosmtpd server on 127.0.0.1: STARTTLS and AUTH required unless told otherwise.

    Like Postfix (whose limit is 2048), it refuses a command line longer than it takes: aiosmtpd's
    limit is RFC 5321's 512 octets, the AUTH line with its initial response included
    ("500 Command line too long"); a response after a 334 may be longer.
    """

    def __init__(
        self,
        certificates: Certificates,
        *,
        tls: str = "starttls",
        auth: bool = True,
        port: int = 0,
        xoauth2: bool = True,
    ) -> None:
        self.host, self.port = "127.0.0.1", port or free_port()
        self.certificates_pem = certificates.ca_pem
        self.delivered: list[Delivered] = []
        self.faults = Faults()
        self.logins: list[tuple[str, bool]] = []
        self.mechanisms: list[str] = []  # of each password login, in order
        self.ehlo_names: list[str] = []  # the name of each EHLO, in order
        # The client's MAIL FROM ("MAIL <address>"), RCPT TO ("RCPT <address>"), RSET, DATA and QUIT, in order.
        self.said: list[str] = []
        self.refused: list[str] = []  # recipients of the messages `limit_after` refused, and `refuse_rcpt`'s
        self.xoauth2 = XOAuth2()
        self.xoauth2_logins: list[tuple[str, bool]] = []
        tls_options = {
            "starttls": {"tls_context": certificates.server_context(), "require_starttls": True},
            "implicit": {"ssl_context": certificates.server_context()},
            "none": {},
        }[tls]
        self.controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            auth_required=auth,
            # aiosmtpd counts only STARTTLS as TLS; with implicit TLS the whole session is encrypted anyway.
            auth_require_tls=tls == "starttls",
            authenticator=self._authenticate,
            auth_exclude_mechanism=[] if xoauth2 else ["XOAUTH2"],
            **tls_options,
        )

    def _authenticate(self, smtp, session, envelope, mechanism, auth_data) -> AuthResult:
        good = auth_data.login == self.faults.user.encode() and auth_data.password == self.faults.password.encode()
        self.logins.append((auth_data.login.decode(errors="replace"), good))
        self.mechanisms.append(mechanism)
        if self.faults.defer_auth > 0:
            self.faults.defer_auth -= 1
            return AuthResult(success=False, handled=False, message="454 4.7.0 Temporary authentication failure")
        if self.faults.auth_reply:
            login, password = auth_data.login, auth_data.password
            quoted = self.faults.auth_reply.format(
                password=password.decode(errors="replace"),
                plain=base64.b64encode(b"\0" + login + b"\0" + password).decode(),
                login=base64.b64encode(password).decode(),
            )
            return AuthResult(success=False, handled=False, message=quoted)
        return AuthResult(success=good, handled=False, auth_data=auth_data.login.decode(errors="replace"))

    def __enter__(self) -> LoopbackSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def recipients(self) -> list[str]:
        return [rcpt for d in self.delivered for rcpt in d.rcpt_tos]

    def assert_each_got_exactly_one(self, addresses, *, one_per_message: bool = False) -> None:
        """Every address received exactly one message, nobody else any; `one_per_message`: each had one recipient."""
        assert Counter(self.recipients()) == Counter(addresses)
        if one_per_message:
            assert all(len(d.rcpt_tos) == 1 for d in self.delivered)


class RawTcpServer:
    """A listener that misbehaves below SMTP: says nothing (`silent`, as a TLS port waits for the client),
    greets and then says nothing (`mute`), hangs up at once (`hangup`), greets with `220-` continuation
    lines that never end (`flood`, as anyone on the path before STARTTLS could), or with one line of 9,000
    characters (`long-line`); or any other `behaviour` is the line it greets with, and then hangs up (Postfix past
    its connection rate: `421 4.7.0 mx.example.org Error: too many connections from …`)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self.listener.getsockname()
        self.connections = 0
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.behaviour == "hangup":
                connection.close()
                continue
            self._open.append(connection)
            if self.behaviour == "mute":
                connection.sendall(b"220 mute.example.org ESMTP\r\n")
            elif self.behaviour == "long-line":
                connection.sendall(b"220 " + b"x" * 9000 + b"\r\n")
            elif self.behaviour == "flood":
                threading.Thread(target=_flood, args=(connection,), daemon=True).start()
            elif self.behaviour != "silent":
                connection.sendall(self.behaviour.encode() + b"\r\n")
                connection.close()

    def __enter__(self) -> RawTcpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for connection in self._open:
            connection.close()


def _flood(connection: socket.socket) -> None:
    line = b"220-" + b"flood " * 12 + b"\r\n"
    try:
        while True:
            connection.sendall(line * 100)
    except OSError:
        return
