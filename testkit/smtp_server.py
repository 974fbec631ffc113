"""A real SMTP server on loopback, as strict as a company relay: STARTTLS, AUTH, and faults on demand."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from base64 import b64decode
from collections import Counter

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult

from testkit.certificates import Certificates
from testkit.delivered import Delivered
from testkit.ports import free_port
from testkit.smtp_faults import CLOSING_REPLY, RATE_REPLY, THROTTLE_REPLY, Faults, XOAuth2

# aiosmtpd logs a deprecation warning for every login; the demo's output is for people.
logging.getLogger("mail.log").setLevel(logging.ERROR)


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
