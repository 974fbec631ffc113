"""An SMTP session: connect, secure the channel, log in; nothing about what is sent or when.

Every way a session can fail for good (TLS, a name that does not resolve, a refused login)
becomes `Permanent` with a sentence that names what to fix; the rest is left to the caller's
retry policy, described by feedback/smtp/failures.py. A session never outlives the job's deadline: it
is cut there (`OutOfTime`), however slowly the server answers. How to log in is the caller's
choice, made once per job (feedback/smtp/logins.py).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from functools import cache

from feedback.alarm import Clock, timeout_within
from feedback.smtp.connection import OutOfTime, PlainConnection, TlsConnection
from feedback.smtp.failures import no_greeting, permanent
from feedback.smtp.settings import SmtpSettings
from feedback.way_out import Permanent


class Session:
    """A secured, logged-in session, cut at `deadline` whatever the server does; `login` is the job's one way in.

    A class rather than a generator under contextlib's decorator: nothing else in a job needs contextlib.
    """

    def __init__(
        self, smtp: SmtpSettings, context: ssl.SSLContext, deadline: float, login: Callable[[smtplib.SMTP], None]
    ) -> None:
        self.smtp, self.context, self.login = smtp, context, login
        self.clock = Clock(deadline)
        self.connection: smtplib.SMTP | None = None

    def __enter__(self) -> smtplib.SMTP:
        self.clock.__enter__()
        try:
            self._open()
        except BaseException as failure:
            self.__exit__(type(failure), failure, failure.__traceback__)
            raise
        return self.connection

    def __exit__(self, kind: type | None, failure: BaseException | None, trace: object) -> None:
        """A session that went well ends politely; a failure is told as what no retry can mend, or left as it is."""
        try:
            if failure is None:
                _quit(self.connection)
        finally:
            self.clock.__exit__(None, None, None)
            if self.connection is not None:
                self.connection.close()
        if isinstance(failure, (OSError, smtplib.SMTPException)):
            if self.clock.out():
                raise OutOfTime() from failure
            final = permanent(failure, self.smtp)
            if final is not None:
                raise final from None

    def _open(self) -> None:
        smtp = self.smtp
        timeout = timeout_for(smtp, self.clock.deadline)
        # The EHLO name is settled once the connection's own address is known: "" spares smtplib its own guess.
        address = (smtp.host, smtp.port, "")
        if smtp.security == "tls":
            self.connection = TlsConnection(*address, timeout=timeout, context=self.context, clock=self.clock)
        else:
            try:
                self.connection = PlainConnection(*address, timeout=timeout, clock=self.clock)
            except smtplib.SMTPServerDisconnected as silent:
                # Silent for all of smtp_timeout, not just cut short by the job's deadline.
                if isinstance(silent.__context__, (TimeoutError, socket.timeout)) and timeout >= smtp.reach.timeout:
                    raise Permanent(no_greeting(smtp, timeout)) from None
                raise
        self.connection.local_hostname = smtp.ehlo_name or ehlo_name(self.connection.sock)
        _ehlo(self.connection)
        if smtp.security == "starttls":
            if not self.connection.has_extn("starttls"):
                raise Permanent(
                    f"The SMTP server {smtp.where} does not offer STARTTLS, and the responder never"
                    " sends in clear text. Enable STARTTLS on the server, or set smtp_security to 'tls' for a"
                    " server that speaks TLS from the first byte (port 465)."
                )
            self.connection.starttls(context=self.context)
            _ehlo(self.connection)
        self.login(self.connection)


def _ehlo(connection: smtplib.SMTP) -> None:
    """EHLO, whose refusal is said as such: smtplib would take HELO's word instead, and its empty features read as a
    server without STARTTLS or AUTH. A server that does not know EHLO (500, 502) is greeted with HELO; a 4xx (421:
    busy for now) is worth another session; another refusal is final."""
    code, said = connection.ehlo()
    if code in (500, 502):
        code, said = connection.helo()
    if code != 250:
        raise smtplib.SMTPHeloError(code, said)


def ehlo_name(sock: socket.socket) -> str:
    """The machine's fully qualified name, else the address literal of this end of the connection (RFC 5321 §4.1.3).

    Not the short host name (a container id under Cortex's docker runner), which a relay that
    wants a fully qualified EHLO name refuses.
    """
    name = _fqdn()
    if "." in name and not name.startswith("localhost"):
        return name
    address = sock.getsockname()[0].split("%")[0]
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


@cache
def _fqdn() -> str:
    """Asked once per job: it may cost a resolver lookup, and a job opens several sessions."""
    return socket.getfqdn()


def timeout_for(smtp: SmtpSettings, deadline: float) -> float:
    """smtp_timeout, or less when the job's deadline is nearer (feedback/alarm.py)."""
    return timeout_within(smtp.reach.timeout, deadline)


def _quit(connection: smtplib.SMTP) -> None:
    """A polite end to a session that went well; after trouble the connection is just closed."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        pass
