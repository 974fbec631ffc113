"""How a request of the HTTP client (feedback/api_session.py) fails, named so that callers catch by type.

Each failure says why in a few words, which each caller frames with its party's name; an unverified
certificate is told in one sentence for every party (`Untrusted.sentence`). These are OSErrors, as
the transports treat every failure on the way. Nothing here imports an HTTP library.
"""

from __future__ import annotations

import ssl

# What the certificate sentence tells the admin to do, unless the caller is an admin's script with its own option.
TRUST_ADVICE = (
    "Put the CA that signed it (a TLS-inspecting proxy's, say) in Cortex's cacerts setting or the system's trust"
    " store; the responder never sends without verification."
)


class HttpFailure(OSError):
    """No whole answer came; the text says why in a few words, which each caller frames with its party's name."""


class Untrusted(HttpFailure):
    """TLS with the server failed, its certificate unverified: nothing was sent."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason or "its certificate could not be verified")
        self.reason = reason

    def sentence(self, party: str, advice: str = TRUST_ADVICE) -> str:
        """The one sentence for an unverified certificate, whoever `party` is, and what to do."""
        why = f" ({self.reason})" if self.reason else ""
        return f"The certificate of {party} could not be verified{why}. {advice}"


class Unreachable(HttpFailure):
    """No connection, or it broke before an answer's status came; `kind` names the failure in a word."""

    def __init__(self, text: str, kind: str) -> None:
        super().__init__(text)
        self.kind = kind


class Refused(Unreachable):
    """The server (or the proxy) refused the connection."""


class TimedOut(HttpFailure, TimeoutError):
    """No answer within the timeout; `sent` says whether the request may have reached the server."""

    def __init__(self, timeout: float, sent: bool) -> None:
        super().__init__(f"no answer within {timeout:g} s")
        self.sent = sent


class CutShort(HttpFailure):
    """The answer's status and headers came, then its body was cut short: what the status said may still stand."""

    def __init__(self, status: int, headers: dict, why: str) -> None:
        super().__init__(f"the answer was cut short: {why}")
        self.status, self.headers = status, headers


class TooLarge(HttpFailure):
    """The answer's body is longer than its caller reads: its status and headers, and nothing of the body."""

    def __init__(self, status: int, headers: dict, limit: int) -> None:
        super().__init__(f"answered more than {f'{limit >> 20} MB' if limit >= 1 << 20 else f'{limit >> 10} kB'}")
        self.status, self.headers = status, headers


def unreachable(failure: BaseException) -> Unreachable:
    """A connection that failed, in words: refused, or the failure's kind."""
    kind = type(failure).__name__
    if _cause(failure, ConnectionRefusedError) is not None:
        return Refused("the connection was refused", kind)
    return Unreachable(f"the connection failed: {kind}", kind)


def verify_message(failure: BaseException) -> str:
    """What OpenSSL said of the certificate (`self-signed certificate`, `Hostname mismatch…`), where it said it."""
    verification = _cause(failure, ssl.SSLCertVerificationError)
    return getattr(verification, "verify_message", "") or ""


def _cause(failure: BaseException, kind: type) -> BaseException | None:
    """The first `kind` among the exceptions that led to `failure` (requests wraps urllib3's, which wraps ssl's)."""
    seen, waiting = set(), [failure]
    while waiting:
        current = waiting.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        waiting += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        waiting += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
    return None
