"""urllib3's connection pools as the HTTP client (feedback/api_session.py) mounts them for every session: each socket
handed to the job's clock, each failure after the request went whole named for what it means to a message sent, and
each answer read within bounds every urllib3 keeps, the oldest a Cortex host has included (feedback/older_urllib3.py).

Imported with requests, by api_session alone: only jobs that speak to an HTTP API load it.
"""

from __future__ import annotations

import socket
from http.client import HTTPException

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import InvalidHeader, ProtocolError
from urllib3.response import HTTPResponse

from feedback.alarm import Clock
from feedback.client_failures import Misanswered, NothingSent, Unanswered

# The longest line that gives a chunk's size (with its extensions), as the urllib3 2s that bound it do.
LONGEST_CHUNK_LINE = 1 << 16


def pools(clock: Clock | None) -> dict[str, type]:
    """The pool classes for http:// (TheHive on this machine may speak it) and https://; with a `clock`, each socket
    they open (the plain one, then the TLS one over it) is known to it."""

    class Pool(HTTPConnectionPool):
        ConnectionCls, ResponseCls = _connection(HTTPConnection, clock), Answer

    class TlsPool(HTTPSConnectionPool):
        ConnectionCls, ResponseCls = _connection(HTTPSConnection, clock), Answer

    return {"http": Pool, "https": TlsPool}


def _connection(connection: type, clock: Clock | None) -> type:
    class Connection(connection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            if clock is not None:
                clock.watch(sock)
            return sock

        def connect(self) -> None:
            try:
                super().connect()
            except socket.timeout as failure:  # the TLS handshake, or a proxy's answer to CONNECT
                raise NothingSent(str(failure)) from failure
            if clock is not None:
                clock.watch(self.sock)  # the TLS socket, which took over the plain one

        def request(self, *args, **kwargs) -> None:
            self.went_whole = False
            super().request(*args, **kwargs)
            self.went_whole = True  # urllib3 awaits the answer even when sending broke off (a broken pipe)

        def getresponse(self, *args: object, **kwargs: object) -> HTTPResponse:
            """The wait for the answer to a request that went whole, cut by the clock, is a timeout, and one the
            server ended is `Unanswered`: the request may have done its work all the same (a message sent:
            feedback/http_way_out.py). urllib3 2 makes the answer here, of its own class where 1.x asks the pool's:
            it is made an `Answer` all the same."""
            try:
                answer = super().getresponse(*args, **kwargs)
            except Exception as failure:  # urllib3 1.26's first call, getresponse(buffering=True), too
                if clock is not None and clock.rang and self.went_whole:
                    raise socket.timeout("the job's time budget ran out") from None
                if self.went_whole and isinstance(failure, ConnectionError):
                    raise Unanswered() from failure
                if self.went_whole and isinstance(failure, (HTTPException, InvalidHeader)):
                    raise Misanswered(type(failure).__name__) from failure
                raise
            if isinstance(answer, HTTPResponse):  # urllib3 2's; 1.x's is http.client's, for `Answer.from_httplib`
                answer.__class__ = Answer
            return answer

    return Connection


class Answer(HTTPResponse):
    """urllib3's answer, its head's failures named and its body read within the bounds of the latest urllib3."""

    @classmethod
    def from_httplib(cls, *args: object, **kwargs: object) -> HTTPResponse:
        """urllib3 1.x reads the answer's head here, past the connection's `getresponse` (2 reads it there)."""
        try:
            return super().from_httplib(*args, **kwargs)
        except InvalidHeader as failure:
            raise Misanswered(type(failure).__name__) from failure

    def drain_conn(self) -> None:
        """Before a retry, the connection is closed, not drained: urllib3 1.x reads the answer whole to reuse it, and 2
        reads it through, however long it is (a 5xx page of gigabytes)."""
        self.close()
        self.release_conn()

    def _update_chunk_length(self) -> None:
        """A chunk's size line is read within urllib3 2's bound: urllib3 1.x and the early 2.x (Ubuntu 24.04's 2.0.7)
        read it whole, however long it runs (a hostile server's line with no end, gigabytes), and fail only on what
        they then find."""
        if self.chunk_left is not None:
            return
        line = self._fp.fp.readline(LONGEST_CHUNK_LINE + 1)
        try:
            if len(line) > LONGEST_CHUNK_LINE:
                raise ValueError("longer than any chunk's size line")
            self.chunk_left = int(line.split(b";", 1)[0], 16)
        except ValueError as failure:
            self.close()
            raise ProtocolError(f"a chunk's size line that gives no size ({failure})") from None
