"""The responder's one HTTP client, for every HTTPS party: TheHive, Microsoft Graph and Entra ID, Google's token
endpoint and the Gmail API.

requests gives the connection reuse and the proxy tunnel; what it lacks is added here: its TLS
trusts the system store plus `cacerts` (feedback/trust.py) through the proxy too, and nothing else;
the proxy is Cortex's (`proxy_http`/`proxy_https`), else the environment's for that URL
(HTTPS_PROXY, NO_PROXY), never for plain http, and nothing else is taken from the environment (no CA
bundle, no .netrc login); no redirect is followed (a redirect is a failure); an answer is read only
up to a size after decompression (feedback/bounded_json.py); given a `Clock` (feedback/alarm.py),
the sockets are shut at the job's deadline; and every way a request fails is one of the named
`HttpFailure`s (feedback/http_failures.py). Callers make their requests through
feedback/http_exchange.py, and each chooses its retries. `requests` is imported on first use, here
alone: only jobs that speak to an HTTP API load it, and a job that needs one token request only (an
OAuth2 SMTP login) makes it with urllib through the same call (feedback/plain_http.py).
"""

from __future__ import annotations

import ssl
from functools import cache

from feedback import older_urllib3
from feedback.alarm import Clock
from feedback.bounded_json import read_size, within
from feedback.client_failures import timed_out, tls_failure, unreachable
from feedback.http_failures import CutShort, TimedOut, TooLarge, Unreadable, redirect

# Without importing requests, which only jobs that speak to an HTTP API load.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import requests
    from requests import Session as ClientSession  # what the callers of this module hold
    from urllib3 import PoolManager
    from urllib3.util.retry import Retry


def open_session(
    context: ssl.SSLContext,
    proxies: dict[str, str],
    *,
    retry: Retry | None = None,
    clock: Clock | None = None,
) -> ClientSession:
    """A requests.Session trusting `context`, through `proxies` (else the environment's), retrying as `retry`
    (a urllib3 Retry) says, over the pools of feedback/connection_pools.py: with a `clock`, each socket it opens is
    known to it."""
    import requests
    from requests.adapters import HTTPAdapter
    from requests.utils import get_environ_proxies

    from feedback.connection_pools import pools

    trusted, older = context, _urllib3_before((2,))
    if older:
        context = older_urllib3.names_left_to_it(context)
    classes = pools(clock)

    class Adapter(HTTPAdapter):
        """Whom TLS trusts is the context's alone: requests gives a proxy's tunnels trust of its own unless told, and
        names certifi's CAs for each connection, which urllib3 would load into the job's shared context."""

        def build_connection_pool_key_attributes(
            self, request: requests.PreparedRequest, verify: bool | str, cert: object = None
        ) -> tuple[dict, dict]:
            host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
            return host, {**pool, "ca_certs": None, "ca_cert_dir": None}

        def cert_verify(self, conn: object, url: str, verify: bool | str, cert: object) -> None:
            super().cert_verify(conn, url, verify, cert)
            conn.ca_certs = conn.ca_cert_dir = None

        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs, ssl_context=context)
            self.poolmanager.pool_classes_by_scheme = {**self.poolmanager.pool_classes_by_scheme, **classes}

        def proxy_manager_for(self, proxy: str, **kwargs: object) -> PoolManager:
            named = older_urllib3.proxy_named(trusted, proxy) if older else trusted
            manager = super().proxy_manager_for(proxy, **kwargs, ssl_context=context, proxy_ssl_context=named)
            manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, **classes}
            return manager

    class Session(requests.Session):
        """Of the environment, the proxy for the URL alone, and only where Cortex's settings name none; no redirect.
        Plain http goes to this machine only (items.cleartext_refusal) and never through a proxy, where what it
        carries (TheHive's key) would cross the network in clear text."""

        def merge_environment_settings(
            self, url: str, proxies: dict | None, stream: bool | None, verify: bool | str | None, cert: object
        ) -> dict:
            if url[:7].lower() == "http://":
                proxies = {"http": None, "all": None}
            elif not self.proxies:  # ALL_PROXY, which requests would take too, named nowhere
                scheme = url.partition(":")[0].lower()
                proxies = {"all": None, scheme: get_environ_proxies(url).get(scheme), **(proxies or {})}
            return super().merge_environment_settings(url, proxies, stream, verify, cert)

        def get_redirect_target(self, response: requests.Response) -> None:
            """None: requests would otherwise ready the next request even unfollowed, reading the 3xx's whole
            body past any bound, and parsing its Location (a ValueError for `http://[::1`)."""
            return None

    session = Session()
    session.trust_env = False
    session.proxies.update(proxies)
    retries = retry or 0  # requests' own default: no retry
    session.mount("http://", Adapter(max_retries=retries))
    session.mount("https://", Adapter(max_retries=retries))
    return session


def server_errors_retried(methods: frozenset[str] | None) -> Retry:
    """Two more tries, soon after a server error (5xx), for `methods` (all when None); none after a timeout.

    A read that timed out is not sent again: the server is slow, and a second wait would only spend
    the time delivery needs. A Retry-After is not waited for here: those waits are the mail APIs'
    (feedback/retry_after.py, read by the delivery policy); a party that asks for more than the
    back-off is treated as down for this job.
    """
    from urllib3.util.retry import Retry

    return Retry(
        total=2,
        read=False,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=methods,
        raise_on_status=False,
        respect_retry_after_header=False,
    )


def requested(
    session: ClientSession, method: str, url: str, limit: int, timeout: float, **request
) -> tuple[int, dict, bytes]:
    """A request through requests, its answer read within `limit` bytes: see feedback/http_exchange.py."""
    import requests
    from urllib3.exceptions import HTTPError

    try:
        response = session.request(method, url, timeout=timeout, allow_redirects=False, stream=True, **request)
    except requests.exceptions.SSLError as failure:
        raise tls_failure(failure) from None
    except requests.exceptions.ConnectTimeout:
        raise TimedOut(timeout, sent=False) from None
    except requests.Timeout as failure:
        raise timed_out(failure, timeout) from None
    except (requests.RequestException, OSError, HTTPError) as failure:  # urllib3's own where requests passes it on
        # Through a proxy, the connection that failed is the proxy's, whether urllib3 says so (a ProxyError, also for
        # a connection the server ended through a working tunnel) or not (a tunnel's request the proxy dropped).
        raise unreachable(failure, _through_proxy(session, url)) from None
    if response.status_code < 200:  # an interim answer, which http.client took for the last
        response.close()
        raise Unreadable(f"HTTP {response.status_code}, an interim answer, and no other")
    if redirect(response.status_code):
        response.close()
        return response.status_code, response.headers, b""
    if len([coding for coding in response.headers.get("Content-Encoding", "").split(",") if coding.strip()]) > 1:
        # urllib3 before 2.6 inflates each read through a chain of codings without bound (CVE-2025-66418)
        response.close()
        raise CutShort(response.status_code, response.headers, "its body was compressed more than once")
    try:
        body, more = within(response.iter_content(read_size(response.headers, limit, _urllib3_before((2, 6)))), limit)
    except (requests.RequestException, OSError) as failure:
        raise CutShort(response.status_code, response.headers, type(failure).__name__) from None
    if more:
        response.close()
        raise TooLarge(response.status_code, response.headers, limit)
    if getattr(response.raw, "length_remaining", None):  # a body cut short, which urllib3 1.x hands over as if whole
        raise CutShort(response.status_code, response.headers, "IncompleteRead")
    return response.status_code, response.headers, body


def _through_proxy(session: ClientSession, url: str) -> bool:
    """Whether the session sends a request for `url` to a proxy, as it chooses one (Cortex's, else the
    environment's)."""
    from requests.utils import select_proxy

    return select_proxy(url, session.merge_environment_settings(url, {}, None, None, None)["proxies"]) is not None


@cache
def _urllib3_before(version: tuple[int, ...]) -> bool:
    """Whether requests sits on a urllib3 older than `version` (feedback/older_urllib3.py); read once a job."""
    import urllib3

    return tuple(int(part) for part in urllib3.__version__.split(".")[:2] if part.isdigit()) < version
