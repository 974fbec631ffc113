"""The HTTP client's session for a job that makes one request and nothing else over HTTP: urllib, not requests.

An OAuth2 SMTP login asks Entra ID for a token once an hour at most; loading requests and urllib3
for that would cost every such job a tenth of a second. `feedback.http_exchange.exchange` takes this
session as it takes its own: the same trust, the same proxy policy (Cortex's, else the
environment's for the URL, which is urllib's own), no redirect followed, the same bound on the
answer (decoded by `exchange` as JSON alike) and the same named failures; given a `Clock`
(feedback/alarm.py), its sockets are shut at the job's deadline, as the client's are.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlencode

from feedback.alarm import Clock
from feedback.bounded_json import within
from feedback.client_failures import tls_failure, unreachable
from feedback.http_failures import (
    CutShort,
    HttpFailure,
    TimedOut,
    TooLarge,
    Unreachable,
    redirect,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from http.client import HTTPResponse
    from urllib.request import HTTPSHandler, Request


class PlainSession:
    """What `exchange` needs to ask one URL with urllib: the job's trust and Cortex's proxies."""

    def __init__(self, context: ssl.SSLContext, proxies: dict[str, str], clock: Clock | None = None) -> None:
        self.context, self.proxies, self.clock = context, proxies, clock

    def exchange(
        self,
        method: str,
        url: str,
        limit: int,
        timeout: float,
        *,
        data: dict | None = None,
        headers: dict | None = None,
    ) -> tuple[int, dict, bytes]:
        """As `feedback.http_exchange.exchange`, for a form (`data`) or no body."""
        from http.client import HTTPException
        from urllib.error import HTTPError, URLError
        from urllib.request import HTTPRedirectHandler, ProxyHandler, Request, build_opener

        class Unfollowed(HTTPRedirectHandler):
            """urllib then raises the redirect as an HTTPError, read below as the answer; its Location is not even
            parsed (a ValueError for `http://[::1`)."""

            def http_error_302(self, *args: object) -> None:
                return None

            http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

        opener = build_opener(ProxyHandler(self.proxies or None), _handler(self.context, self.clock), Unfollowed())
        body = urlencode(data).encode() if data is not None else None
        request = Request(url, data=body, headers=headers or {}, method=method)
        party = request.host  # the proxy's, once the opener sends the request through one
        try:
            try:
                answer = opener.open(request, timeout=timeout)
            except HTTPError as refused:
                answer = refused
        except URLError as failure:
            raise _failure(failure.reason, timeout, request.host != party) from None
        except (HTTPException, OSError) as failure:
            raise _failure(failure, timeout, request.host != party) from None
        with answer:
            body = b"" if redirect(answer.status) else _read(answer, limit)
        if self.clock is not None and self.clock.rang:  # the clock cut it: what came may end anywhere, headers included
            raise TimedOut(timeout, sent=True)
        return answer.status, answer.headers, body


def _handler(context: ssl.SSLContext, clock: Clock | None) -> HTTPSHandler:
    """urllib's HTTPS handler, each socket it opens (the plain one, then the TLS one over it) handed to the clock."""
    from http.client import HTTPSConnection
    from urllib.request import HTTPSHandler

    if clock is None:
        return HTTPSHandler(context=context)

    class Connection(HTTPSConnection):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = self._watched

        def _watched(self, *args: object) -> socket.socket:
            sock = socket.create_connection(*args)
            clock.watch(sock)
            return sock

        def connect(self) -> None:
            super().connect()
            clock.watch(self.sock)  # the TLS socket, which took over the plain one

    class Handler(HTTPSHandler):
        def https_open(self, request: Request) -> HTTPResponse:
            return self.do_open(Connection, request, context=context)

    return Handler(context=context)


def _read(answer: HTTPResponse, limit: int) -> bytes:
    from http.client import HTTPException

    try:
        body, more = within(iter(lambda: answer.read(1 << 16), b""), limit)
    # http.client's IncompleteRead and LineTooLong (a chunk cut short, its size line endless) are neither OSError nor
    # ValueError; a file the clock closed reads as a ValueError.
    except (OSError, ValueError, HTTPException) as failure:
        raise CutShort(answer.status, answer.headers, type(failure).__name__) from None
    if more:
        raise TooLarge(answer.status, answer.headers, limit)
    if getattr(answer, "length", None):  # http.client ends a read short of Content-Length quietly, when given a size
        raise CutShort(answer.status, answer.headers, "IncompleteRead")
    return body


def _failure(reason: object, timeout: float, proxied: bool) -> BaseException:
    """urllib's failure as the client names it, as requests' are (`proxied`: urllib sent the request to a proxy)."""
    if isinstance(reason, HttpFailure):
        return reason
    if isinstance(reason, ssl.SSLError):
        return tls_failure(reason)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return TimedOut(timeout, sent=True)
    if isinstance(reason, BaseException):
        return unreachable(reason, proxied)
    return Unreachable(f"the connection failed: {reason}", "URLError")
