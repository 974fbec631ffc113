"""smtplib's connection as a session uses it: cut at the job's deadline, and bounded in what it reads.

Below the session's commands: whatever the server does (trickles bytes, floods a reply with
continuation lines, holds the socket), the job neither outlives its deadline nor grows without limit.
"""

from __future__ import annotations

import smtplib

from feedback.alarm import Clock

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket


class OutOfTime(smtplib.SMTPServerDisconnected):
    """The job's time budget ran out while the SMTP server still held the session."""

    def __init__(self) -> None:
        super().__init__("the job's time budget ran out")


class RepliedEarly(smtplib.SMTPServerDisconnected):
    """The server replied before the message it was to answer went: out of step with SMTP, so that its verdict on
    the message would be read as the next command's. The message is not sent over that session."""

    def __init__(self) -> None:
        super().__init__("the server replied before the message was sent")


class ReplyTooLong(smtplib.SMTPException):
    """A reply past REPLY_LINES or REPLY_OCTETS, or a line past smtplib's: no server's answer, but a flood."""


# What one reply may hold: an EHLO answer has a dozen lines. Endless "220-" lines before STARTTLS
# (from anyone on the path) would otherwise grow the job's memory until its time budget.
REPLY_LINES, REPLY_OCTETS = 100, 64 * 1024
# How long the reply to a message's end is awaited, at least (RFC 5321 §4.5.3.2.6: ten minutes): a server, or the
# content filter behind it, may take longer there than smtp_timeout, and a message given up on then may go all the
# same. The job's deadline still cuts it.
MESSAGE_END_WAIT = 600.0


class _Timed:
    """smtplib's session, telling the clock's cut from a server that hung up."""

    def __init__(self, *args: object, clock: Clock, **kwargs: object) -> None:
        self.clock = clock
        self.message_ended = False  # the whole message went, and the server's verdict on it has not come yet
        self.message_went = False  # the whole message went in this transaction (its verdict come or not)
        super().__init__(*args, **kwargs)

    def _get_socket(self, *args: object) -> socket.socket:
        sock = super()._get_socket(*args)
        self.clock.watch(sock)
        return sock

    def starttls(self, *args: object, **kwargs: object) -> tuple[int, bytes]:
        reply = super().starttls(*args, **kwargs)
        self.clock.watch(self.sock)  # the TLS socket, which took over the plain one
        return reply

    def getreply(self) -> tuple[int, bytes]:
        """A reply the clock cut short reads as a whole one to smtplib (a line ended by the shut socket)."""
        if self.file is None and self.sock is not None:  # smtplib makes it there, and again after STARTTLS
            self.file = _BoundedReplies(self.sock.makefile("rb"))
        try:
            reply = super().getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as trouble:
            if isinstance(trouble.__context__, ReplyTooLong):  # smtplib reads it as a connection that failed
                raise trouble.__context__ from None
            self._cut()
            raise
        if self.clock.rang:
            raise OutOfTime()
        if self.message_ended:
            self.message_ended = False
            self.sock.settimeout(self.timeout)
        return reply

    def send(self, s: str | bytes) -> None:
        message = isinstance(s, bytes) and s.endswith(b"\r\n.\r\n")  # the message, as smtplib's data() sends it
        if message and self._replied_early():
            raise RepliedEarly()
        try:
            super().send(s)
        except (OSError, smtplib.SMTPServerDisconnected):
            self._cut()
            raise
        if message:
            self.message_ended = self.message_went = True
            self.sock.settimeout(max(self.timeout, MESSAGE_END_WAIT))

    def _replied_early(self) -> bool:
        """Whether a reply is already there, after the 354 and before the message: what is buffered, or has arrived
        (read without waiting; under TLS, a record that holds no reply, a session ticket, does not count)."""
        if self.file is None:
            return False
        self.sock.settimeout(0)
        try:
            return bool(self.file.peek())
        except OSError:  # nothing there (EAGAIN, or TLS's want-read), or a connection the send will find broken
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def _cut(self) -> None:
        if self.clock.out():
            raise OutOfTime()


class _BoundedReplies:
    """The session's reading end, which ends a reply at REPLY_LINES or REPLY_OCTETS; smtplib reads only lines."""

    def __init__(self, file: object) -> None:
        self.file, self.lines, self.octets = file, 0, 0

    def readline(self, size: int = -1) -> bytes:
        line = self.file.readline(size)
        self.lines, self.octets = self.lines + 1, self.octets + len(line)
        # smtplib reads a line past its _MAXLINE as a "500 Line too long." it makes up, in the server's name.
        if self.lines > REPLY_LINES or self.octets > REPLY_OCTETS or len(line) > smtplib._MAXLINE:
            raise ReplyTooLong()
        if line[3:4] != b"-":  # the reply's last line: the next reply counts afresh
            self.lines = self.octets = 0
        return line

    def peek(self) -> bytes:
        """What is read and not yet taken, else what one read gives (on a socket that does not wait: nothing)."""
        return self.file.peek(1)

    def close(self) -> None:
        self.file.close()


class PlainConnection(_Timed, smtplib.SMTP):
    pass


class TlsConnection(_Timed, smtplib.SMTP_SSL):
    pass
