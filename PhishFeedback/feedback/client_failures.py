"""What the HTTP clients' own exceptions say, read as the failures of feedback/http_failures.py: whether any of the
request went, whether an answer came, whose certificate failed and why.

The marks here are raised by the client's connection (feedback/api_session.py) inside the library, which wraps
them: they are found again in the chain of what it raises. Nothing here imports an HTTP library.
"""

from __future__ import annotations

import socket
import ssl

from feedback.http_failures import (
    REFUSED,
    HttpFailure,
    Refused,
    TimedOut,
    TlsFailed,
    TunnelRefused,
    Unreachable,
    Unreadable,
    Untrusted,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# How http.client tells a proxy's answer to CONNECT other than 200, in every Python the responder runs on.
TUNNEL_FAILED = "Tunnel connection failed: "


class NothingSent(socket.timeout):
    """A wait that ran out before any of the request went (the TLS handshake, a proxy's answer to its CONNECT), which
    urllib3 tells as a read that timed out."""


def timed_out(failure: BaseException, timeout: float) -> TimedOut:
    """A wait that ran out after the whole request went, unless the client's connection said none of it had."""
    return TimedOut(timeout, sent=_cause(failure, NothingSent) is None)


class ProxyUntrusted(ssl.SSLCertVerificationError):
    """An https:// proxy's certificate not verified, marked where urllib3 1.x tells it as the party's TLS failure
    (feedback/older_urllib3.py); urllib3 2 tells it as the proxy's."""


class Unanswered(ConnectionError):
    """The connection ended after the whole request went, before the answer's status."""


class Misanswered(Unanswered):
    """An answer came to the whole request, whose head could not be read; its text is http.client's word for why."""


def unreachable(failure: BaseException, proxied: bool = False) -> HttpFailure:
    """A connection that failed, in words: refused, ended with no answer to a whole request, a host name without an
    address, a proxy's refusal of the tunnel, or what the system said of it; `proxied`, a failure the client put on
    the proxy (its certificate's, for an https:// proxy). Either client's: requests' chain, or urllib's reason."""
    kind = type(failure).__name__
    misanswered = _cause(failure, Misanswered)
    if misanswered is not None:
        return Unreadable(f"its head: {misanswered}")
    if _cause(failure, Unanswered) is not None:
        return Unreachable("the connection closed with no answer to the whole request", kind, sent=True)
    tunnel = _cause(failure, OSError, lambda error: str(error).startswith(TUNNEL_FAILED))
    if tunnel is not None:
        status = str(tunnel)[len(TUNNEL_FAILED) :].partition(" ")[0]
        return TunnelRefused(int(status) if status.isdecimal() else 0)
    if _cause(failure, socket.gaierror) is not None:
        whose = "the proxy's" if proxied else "its"
        return Unreachable(f"{whose} host name could not be resolved", "NameResolution")
    if proxied:
        why = verify_message(failure)
        if why:  # an https:// proxy's certificate
            return Untrusted(why, whose="the proxy on the way to ")
        if _cause(failure, ConnectionRefusedError) is not None:
            return Refused("the proxy refused the connection", "ProxyError")
        return Unreachable("the proxy refused or dropped the connection", "ProxyError")
    if _cause(failure, ConnectionRefusedError) is not None:
        return Refused(REFUSED, kind)
    system = _cause(failure, OSError, lambda error: bool(error.strerror))
    return Unreachable(f"the connection failed: {system.strerror if system is not None else kind}", kind)


def tls_failure(failure: BaseException) -> HttpFailure:
    """A failed TLS handshake as the client names it: a certificate not verified, or TLS that failed otherwise (an
    `https://` address where the server speaks plain HTTP: TheHive's own port 9000, say)."""
    if _cause(failure, ProxyUntrusted) is not None:
        return Untrusted(verify_message(failure), whose="the proxy on the way to ")
    if _cause(failure, ssl.SSLCertVerificationError) is not None:
        return Untrusted(verify_message(failure))
    # urllib3 1.x matches the host name itself (feedback/older_urllib3.py): a mismatch is a ValueError of its own.
    mismatch = _cause(failure, ValueError)
    if type(mismatch).__name__ == "CertificateError":
        return Untrusted(str(mismatch))
    why = getattr(_cause(failure, ssl.SSLError), "reason", None) or type(failure).__name__
    hint = (
        "; nothing speaks HTTPS at that address: check the URL's scheme and port"
        if why == "WRONG_VERSION_NUMBER"
        else ""
    )
    return TlsFailed(f"TLS failed: {why}{hint}", "TLS")


def verify_message(failure: BaseException) -> str:
    """What OpenSSL said of the certificate (`self-signed certificate`, `Hostname mismatch…`), where it said it."""
    verification = _cause(failure, ssl.SSLCertVerificationError)
    return getattr(verification, "verify_message", "") or ""


def _cause(failure: BaseException, kind: type, where: Callable[[Any], bool] | None = None) -> Any:
    """The first `kind` among the exceptions that led to `failure` (requests wraps urllib3's, which wraps ssl's),
    of those `where` holds for, if given."""
    seen, waiting = set(), [failure]
    while waiting:
        current = waiting.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind) and (where is None or where(current)):
            return current
        reason = getattr(current, "reason", None)  # urllib3's and urllib's wrapped error; ssl's is a word
        waiting += [current.__cause__, current.__context__, reason if isinstance(reason, BaseException) else None]
        waiting += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
    return None
