"""How a request of the HTTP client (feedback/api_session.py) fails, named so that callers catch by type.

Each failure has one sentence for every party (`sentence(party, advice)`): the caller gives its
party's name ("TheHive at https://…") and, where it has its own, what to check; the rest is worded
here once, so that the same failure reads the same whoever met it. These are OSErrors, as the
transports treat every failure on the way. Nothing here imports an HTTP library.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# What the certificate sentence tells the admin to do, unless the caller is an admin's script with its own option.
TRUST_ADVICE = (
    "Put the CA that signed it (a TLS-inspecting proxy's, say) in Cortex's cacerts setting or the system's trust"
    " store; the responder never connects without verification."
)
# What every other failure tells the admin to check, unless the caller names its own items.
REACH_ADVICE = "Check that Cortex can reach it, and Cortex's proxy settings."
# How a refused connection is told, by either client.
REFUSED = "the connection was refused"
# A label of a host name, as a sentence may name it.
HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# What `Malformed` says of a body that is no JSON.
NOT_JSON = "something other than JSON"


class HttpFailure(OSError):
    """No whole answer came; the text says why in a few words, `sentence` says it whole with the party's name.

    `passing`: whether another try later may get past it (a timeout, a connection that failed or broke off), unlike
    an untrusted certificate, a redirect or an answer that is no answer of the party's.
    """

    advice = REACH_ADVICE
    passing = True

    def told(self) -> str:
        """What the party did, its name left out: "could not be reached (…)"."""
        return f"gave no whole answer ({self})"

    def said(self, party: str) -> str:
        """What happened, the party named first: "TheHive at https://… could not be reached (…)"."""
        return f"{party[:1].upper()}{party[1:]} {self.told()}"

    def sentence(self, party: str, advice: str | None = None) -> str:
        """The one sentence for this failure, whoever `party` is, and what to do (the caller's, or the default;
        none when the caller gives "")."""
        advice = self.advice if advice is None else advice
        return f"{self.said(party)}. {advice}" if advice else f"{self.said(party)}."


class Untrusted(HttpFailure):
    """TLS with the server failed, its certificate unverified: nothing was sent."""

    advice = TRUST_ADVICE
    passing = False

    def __init__(self, reason: str = "", whose: str = "") -> None:
        super().__init__(reason or "its certificate could not be verified")
        self.reason, self.whose = reason, whose

    def said(self, party: str) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return f"The certificate of {self.whose}{party} could not be verified{why}"


class Unreachable(HttpFailure):
    """No connection, or it broke before an answer's status came; `kind` names the failure in a word, `sent` whether
    the whole request had gone (it may have done its work)."""

    def __init__(self, text: str, kind: str, sent: bool = False) -> None:
        super().__init__(text)
        self.kind, self.sent = kind, sent

    def told(self) -> str:
        return f"could not be reached ({self})"


class Refused(Unreachable):
    """The server (or the proxy) refused the connection."""


class TunnelRefused(Unreachable):
    """The proxy answered the tunnel's request (CONNECT) with a status of its own: a login it wants (407), a rule
    against the address (403), or the party out of its reach (5xx), which alone may pass."""

    def __init__(self, status: int) -> None:
        if status == 407:
            why = "it wants a user and password, given in its URL, or refused those given"
        elif status >= 500:
            why = "it could not open a tunnel to it"
        else:
            why = "it refused to open a tunnel to it"
        super().__init__(f"the proxy answered HTTP {status}: {why}", "ProxyError")
        self.passing = status >= 500


class Unreadable(Unreachable):
    """An answer came to the whole request, but none the client can read: a head past http.client's bounds, or only
    an interim one (`103 Early Hints`), which http.client takes for the last. The request did its work or not:
    nobody can tell, and it is not made again."""

    def __init__(self, why: str) -> None:
        super().__init__(why, "Unreadable", sent=True)

    def told(self) -> str:
        return f"answered in a way that could not be read ({self})"


class TimedOut(HttpFailure, TimeoutError):
    """No answer within the timeout; `sent` says whether the request may have reached the server."""

    def __init__(self, timeout: float, sent: bool) -> None:
        super().__init__(f"no {'answer' if sent else 'connection'} within {seconds(timeout)} s")
        self.timeout, self.sent = timeout, sent

    def told(self) -> str:
        if self.sent:
            return f"did not answer within {seconds(self.timeout)} s"
        return f"could not be reached ({self})"


class CutShort(HttpFailure):
    """The answer's status and headers came, then its body was cut short: what the status said may still stand."""

    def __init__(self, status: int, headers: dict, why: str) -> None:
        super().__init__(f"the answer was cut short: {why}")
        self.status, self.headers, self.why = status, headers, why

    def told(self) -> str:
        return f"answered HTTP {self.status}, then the answer was cut short ({self.why})"


class TooLarge(HttpFailure):
    """The answer's body is longer than its caller reads: its status and headers, and nothing of the body."""

    passing = False

    def __init__(self, status: int, headers: dict, limit: int) -> None:
        super().__init__(f"answered more than {f'{limit >> 20} MB' if limit >= 1 << 20 else f'{limit >> 10} kB'}")
        self.status, self.headers = status, headers

    def told(self) -> str:
        return f"{self}: no more than that is read from it"


class Malformed(HttpFailure):
    """The caller asked for JSON, and the body is none, or nests deeper than the client decodes: its status and
    headers, and nothing of the body."""

    passing = False

    def __init__(self, status: int, headers: dict, why: str) -> None:
        super().__init__(why)
        self.status, self.headers = status, headers

    def told(self) -> str:
        return f"answered {self} (HTTP {self.status})"


def redirect(status: int) -> bool:
    """A 3xx: never followed, so its page is never read, by either backend, and the caller is told `Redirected`."""
    return 300 <= status < 400


class Redirected(HttpFailure):
    """The answer was a redirect (3xx), which the client never follows: what the request carries goes to its URL."""

    passing = False

    def __init__(self, status: int, headers: dict) -> None:
        super().__init__(f"a redirect (HTTP {status})")
        self.status, self.headers = status, headers

    def told(self) -> str:
        return f"answered with {self}{_towards(self.headers.get('Location'))}, which is never followed"


def _towards(location: str | None) -> str:
    """Where a redirect leads, as its scheme and host alone (a path or query may hold anything); nothing for a
    Location that names no host, or that no URL parser reads. The host as written: in lower case, a secret a server
    echoed there would be a form the scrubber does not know."""
    try:
        target = urlsplit(location or "")
    except ValueError:  # "http://[::1" and the like
        return ""
    written = target.netloc.rpartition("@")[2]  # no user or password
    host = written[: written.find("]") + 1] if written.startswith("[") else written.partition(":")[0]  # no port
    port = written[len(host) :]
    if host.strip("[]").lower() != target.hostname or not target.scheme.isalpha() or len(host) > 253:
        return ""  # no host, or one the parser reads otherwise than it is written (Python 3.9 takes "h:[80]")
    if port and not (port[0] == ":" and (port[1:] or "0").isdecimal()):
        return ""  # "[::1]x]:80", which Python 3.14's parser refuses and those before it read as "[::1]"
    if not _host_name(host):
        return ""  # words where a host goes ("TheHive moved to …, set thehive_url to it"), written into our sentence
    return f" to {target.scheme}://{host}"


def _host_name(host: str) -> bool:
    """Whether `host` is a host name (its labels ASCII letters, digits and hyphens; an IDN in its ASCII form) or a
    bracketed IP address without a zone: nothing else is named in a sentence the analyst trusts, neither words nor
    control characters (a terminal's escape, written for the analyst's screen)."""
    if host.startswith("["):
        from ipaddress import ip_address

        if "%" in host:  # a zone, which Python takes after an IPv6 address, holds any text
            return False
        try:
            ip_address(host[1:-1])
        except ValueError:
            return False
        return True
    # ASCII as written, since it is shown as written: IDNA would pass a zero-width space or full-width letters.
    return host.isascii() and all(HOST_LABEL.fullmatch(label) for label in host.removesuffix(".").split("."))


def seconds(timeout: float) -> str:
    """A timeout as a sentence gives it: whole seconds, tenths under one."""
    return f"{round(timeout) if timeout >= 1 else round(timeout, 1):g}"


class TlsFailed(Unreachable):
    """TLS failed for another reason than the certificate: most often nothing speaks TLS at that address."""

    passing = False
