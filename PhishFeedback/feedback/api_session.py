"""A kept-alive HTTPS session for a mail API: the job's trust, Cortex's proxies, bounded answers, cut at the deadline.

requests gives the connection reuse and the proxy tunnel; what it lacks is added here: its TLS
trusts the system store plus `cacerts` (feedback/trust.py) through the proxy too, nothing is taken
from the environment (a proxy, a CA bundle, a .netrc login), an answer is read only up to a size,
and at the job's deadline the sockets are shut, as feedback/session.py does for SMTP. `requests`
is imported on first use: only jobs that deliver through an API load it.
"""

from __future__ import annotations

import json
import socket
import ssl

from feedback.alarm import Alarm


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
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


def open_session(context: ssl.SSLContext, proxies: dict[str, str], clock: Clock):
    """A requests.Session trusting `context`, through `proxies` only, each socket it opens known to the clock."""
    import requests
    from requests.adapters import HTTPAdapter
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

    class Adapter(HTTPAdapter):
        """requests gives its own trust to a proxy's tunnels unless told: the context goes to both managers."""

        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs, ssl_context=context)
            self.poolmanager.pool_classes_by_scheme = {**self.poolmanager.pool_classes_by_scheme, "https": Pool}

        def proxy_manager_for(self, proxy: str, **kwargs):
            manager = super().proxy_manager_for(proxy, **kwargs, ssl_context=context)
            manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, "https": Pool}
            return manager

    session = requests.Session()
    session.trust_env = False
    session.proxies.update(proxies)
    session.mount("https://", Adapter())
    return session


class Untrusted(Exception):
    """TLS with the server failed, its certificate unverified: nothing was sent."""


def post(session, url: str, limit: int, timeout: float, **request) -> tuple[int, dict, bytes]:
    """A POST's status, headers and body (at most `limit` bytes, plus one), redirects not followed.

    A failed TLS handshake is `Untrusted`; any other failure an OSError in words, for the caller to retry or report.
    """
    import requests

    try:
        response = session.post(url, timeout=timeout, allow_redirects=False, stream=True, **request)
        return response.status_code, response.headers, bounded_body(response, limit)
    except requests.exceptions.SSLError:
        raise Untrusted() from None
    except requests.Timeout:
        raise TimeoutError(f"no answer within {timeout:g} s") from None
    except requests.exceptions.ProxyError:
        raise ConnectionError("the proxy refused or dropped the connection") from None
    except (requests.RequestException, OSError) as failure:
        raise ConnectionError(f"the connection failed: {type(failure).__name__}") from None


def bounded_body(response, limit: int) -> bytes:
    """At most `limit` bytes of a streamed answer, plus one to tell a longer one; that one's connection is dropped."""
    body = response.raw.read(limit + 1, decode_content=True)
    if len(body) > limit:
        response.close()
    return body


def json_value(data: bytes) -> object:
    """The JSON in a body, or None: not JSON, or nested deeper than the parser goes."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None
