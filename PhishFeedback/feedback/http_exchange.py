"""One request to an HTTPS party, as every caller makes it: bounded, never redirected, its failures named.

The session is the HTTP client's (feedback/api_session.py, requests) or, for a job that makes one
token request and nothing else over HTTP, urllib's (feedback/plain_http.py): either way the answer
is read within the caller's bound after decompression, a redirect is a failure (what the request
carries goes to its URL alone), JSON is decoded within bounded_json's depth where the caller asks
for it, and every failure is one of the `HttpFailure`s (feedback/http_failures.py), which callers
catch by type and tell in its one sentence with their party's name.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Union

from feedback.alarm import Clock
from feedback.api_session import open_session, requested
from feedback.bounded_json import DEEPEST, PastBound, parsed
from feedback.http_failures import NOT_JSON, Malformed, Redirected, redirect

if TYPE_CHECKING:
    from feedback.api_session import ClientSession
    from feedback.plain_http import PlainSession

# Whether a call wants the body's JSON: True for bounded_json's decoder, else a decoder of the caller's own.
Decoder = Union[bool, Callable[[bytes], object]]
# The client's session (feedback/api_session.py), or urllib's for a job that makes one request (feedback/plain_http.py).
Session = Union["ClientSession", "PlainSession"]


def lone_request_session(context: ssl.SSLContext, proxies: dict[str, str], clock: Clock) -> Session:
    """The session for a job's one HTTP request (an OAuth2 SMTP login's token): urllib's, which spares the job
    loading requests, unless the proxy is spoken to over TLS (an https:// proxy, Cortex's or the environment's):
    urllib cannot, and would send the CONNECT, the proxy's credentials with it, in clear text."""
    from urllib.request import getproxies

    from feedback.plain_http import PlainSession

    proxy = (proxies or getproxies()).get("https", "")
    if proxy[:8].lower() == "https://":
        return open_session(context, proxies, clock=clock)
    return PlainSession(context, proxies, clock)


def post(session: Session, url: str, limit: int, timeout: float, **request) -> tuple[int, dict, object]:
    """A POST's status, headers and body (or its JSON, asked with `decoded`), redirects not followed: see `exchange`."""
    return exchange(session, "POST", url, limit, timeout, **request)


def exchange(
    session: Session, method: str, url: str, limit: int, timeout: float, *, decoded: Decoder = False, **request
) -> tuple[int, dict, object]:
    """A request's status, headers and body (at most `limit` bytes after decompression), redirects not followed.

    With `decoded`, the body's JSON value in its place, nested no deeper than bounded_json's DEEPEST
    (its `parsed`, or a decoder of the caller's with the same contract), None for an empty body.
    Every failure is an `HttpFailure`: `Untrusted`, `Refused` or `Unreachable`, `TimedOut`, `CutShort`
    (the status came, the body broke off), `TooLarge` (a longer body, whose connection is dropped),
    `Redirected` (a 3xx: what the request carries goes to `url` alone) or `Malformed` (JSON asked for,
    and the body is none or nests too deep). `session` is one of `open_session`'s, or
    feedback/plain_http.py's for a job without requests.
    """
    plain = getattr(session, "exchange", None)
    if plain is not None:
        status, headers, body = plain(method, url, limit, timeout, **request)
    else:
        status, headers, body = requested(session, method, url, limit, timeout, **request)
    if redirect(status):
        raise Redirected(status, headers)
    if not decoded:
        return status, headers, body
    return status, headers, _json(status, headers, body, parsed if decoded is True else decoded)


def _json(status: int, headers: dict, body: bytes, decoder: Callable[[bytes], object]) -> object:
    """The body's JSON value; an empty body (Graph's 202, TheHive's 204) is None, as it asks for nothing."""
    if not body.strip():
        return None
    try:
        value = decoder(body)
    except PastBound:
        raise Malformed(status, headers, f"JSON nested deeper than {DEEPEST} levels") from None
    if value is None:
        raise Malformed(status, headers, NOT_JSON)
    return value


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
