"""A kept-alive HTTP(S) session for TheHive and the mail APIs: the job's trust and proxies, bounded answers.

requests gives the connection reuse and the proxy tunnel; what it lacks is added here: its TLS
trusts the system store plus `cacerts` (feedback/trust.py) through the proxy too, nothing is taken
from the environment (a proxy, a CA bundle, a .netrc login) unless the caller says so, an answer
is read only up to a size (feedback/bounded_json.py), and, given a `Clock`, the sockets are shut at
the job's deadline, as feedback/smtp/connection.py does for SMTP. Each caller chooses its retries.
`requests` is imported on first use: only jobs that speak to an HTTP API load it.
"""

from __future__ import annotations

import socket
import ssl

from feedback.alarm import Alarm, shut
from feedback.bounded_json import within


class Clock(Alarm):
    """At the deadline, shuts the session's sockets, whatever read or write waits on them.

    It only shuts sockets and never raises in the middle of the caller's account: a message whose
    answer was read counts; one whose answer was cut short fails its request, and is not counted as sent.
    """

    def __init__(self, deadline: float) -> None:
        super().__init__(deadline)
        self.sockets: list[socket.socket] = []

    def ring(self) -> None:
        for sock in self.sockets:
            shut(sock)


def open_session(
    context: ssl.SSLContext,
    proxies: dict[str, str],
    *,
    retry: object = None,
    clock: Clock | None = None,
    environment: bool = False,
):
    """A requests.Session trusting `context`, through `proxies`, retrying as `retry` (a urllib3 Retry) says.

    With a `clock`, each socket it opens is known to it; with `environment`, requests may also take
    a proxy, a CA bundle and a .netrc login from the environment.
    """
    import requests
    from requests.adapters import HTTPAdapter

    pools = _clocked_pools(clock) if clock is not None else {}

    class Adapter(HTTPAdapter):
        """requests gives its own trust to a proxy's tunnels unless told: the context goes to both managers."""

        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs, ssl_context=context)
            self.poolmanager.pool_classes_by_scheme = {**self.poolmanager.pool_classes_by_scheme, **pools}

        def proxy_manager_for(self, proxy: str, **kwargs):
            manager = super().proxy_manager_for(proxy, **kwargs, ssl_context=context)
            manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, **pools}
            return manager

    session = requests.Session()
    session.trust_env = environment
    session.proxies.update(proxies)
    retries = retry or 0  # requests' own default: no retry
    session.mount("http://", HTTPAdapter(max_retries=retries))
    session.mount("https://", Adapter(max_retries=retries))
    return session


class ClockedSession:
    """A session of the caller's own for a `with` block of requests: its sockets shut at `deadline`, then closed.

    Subclasses set `context` (and `proxies`) before entering, where they are known only then.
    """

    def __init__(self, context: ssl.SSLContext | None, proxies: dict[str, str], deadline: float) -> None:
        self.context, self.proxies = context, proxies
        self.clock = Clock(deadline)
        self.session = None

    def __enter__(self) -> ClockedSession:
        self.clock.__enter__()
        self.session = open_session(self.context, self.proxies, clock=self.clock)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.session is not None:
                self.session.close()
        finally:
            self.clock.__exit__(None, None, None)


def _clocked_pools(clock: Clock) -> dict[str, type]:
    """urllib3's HTTPS pool, each socket it opens (the plain one, then the TLS one over it) handed to the clock."""
    from urllib3.connection import HTTPSConnection
    from urllib3.connectionpool import HTTPSConnectionPool

    class Connection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            clock.sockets.append(sock)
            return sock

        def connect(self) -> None:
            super().connect()
            clock.sockets.append(self.sock)  # the TLS socket, which took over the plain one

    class Pool(HTTPSConnectionPool):
        ConnectionCls = Connection

    return {"https": Pool}


class Untrusted(Exception):
    """TLS with the server failed, its certificate unverified: nothing was sent."""


class CutShort(ConnectionError):
    """The answer's status and headers came, then its body was cut short: what the status said may still stand."""

    def __init__(self, status: int, headers: dict, why: str) -> None:
        super().__init__(f"the answer was cut short: {why}")
        self.status, self.headers = status, headers


def post(session, url: str, limit: int, timeout: float, **request) -> tuple[int, dict, bytes]:
    """A POST's status, headers and body (at most `limit` bytes), redirects not followed: see `exchange`."""
    return exchange(session, "POST", url, limit, timeout, **request)


def exchange(session, method: str, url: str, limit: int, timeout: float, **request) -> tuple[int, dict, bytes]:
    """A request's status, headers and body (at most `limit` bytes), redirects not followed.

    A failed TLS handshake is `Untrusted`; a body cut short after the status `CutShort`; any other failure an
    OSError in words, for the caller to retry or report.
    A longer answer's connection is dropped, not kept for the next request.
    """
    import requests

    try:
        response = session.request(method, url, timeout=timeout, allow_redirects=False, stream=True, **request)
    except requests.exceptions.SSLError:
        raise Untrusted() from None
    except requests.Timeout:
        raise TimeoutError(f"no answer within {timeout:g} s") from None
    except requests.exceptions.ProxyError:
        raise ConnectionError("the proxy refused or dropped the connection") from None
    except (requests.RequestException, OSError) as failure:
        raise ConnectionError(f"the connection failed: {type(failure).__name__}") from None
    try:
        body, more = within(response.iter_content(1 << 13), limit)
    except (requests.RequestException, OSError) as failure:
        raise CutShort(response.status_code, response.headers, type(failure).__name__) from None
    if more:
        response.close()
    return response.status_code, response.headers, body
