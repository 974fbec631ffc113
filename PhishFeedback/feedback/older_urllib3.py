"""What a job meets where requests sits on urllib3 1.x, as Debian 11's and 12's python3-requests do (a Cortex that runs
the system's Python has them), and urllib3 2 does otherwise; feedback/api_session.py and the pools it mounts
(feedback/connection_pools.py), which alone import urllib3, ask here.

urllib3 1.x hands a connection to an IP address (TheHive at https://10.0.0.5) to OpenSSL without its name, which a
context that checks names refuses with a ValueError, and matches the name itself where the context does not; it
never matches the name of an https:// proxy in a context it is handed, and tells the proxy's certificate that fails
as the party's. It ends a body shorter than its Content-Length without a word (api_session.py `requested`); and
before 2.6 it inflates all that a read brings (feedback/bounded_json.py `read_size`).
"""

from __future__ import annotations

import socket
import ssl
from functools import lru_cache
from urllib.parse import urlsplit

from feedback.client_failures import ProxyUntrusted
from feedback.trust import system_store


@lru_cache(maxsize=4)
def names_left_to_it(context: ssl.SSLContext) -> ssl.SSLContext:
    """The context's trust, the host name left for urllib3 to match (IP addresses included, as OpenSSL would): a
    certificate for another name is refused all the same."""
    twin = _twin(context, ssl.SSLContext)
    twin.check_hostname = False
    return twin


def proxy_named(context: ssl.SSLContext, proxy: str) -> ssl.SSLContext:
    """The context's trust for the TLS to an https:// proxy, its name checked by OpenSSL: urllib3 1.x never matches a
    proxy's name in a context it is handed, and hands it a proxy at an IP address without the name."""
    twin = _twin(context, _Named)
    twin.name = urlsplit(proxy).hostname
    return twin


class _Named(ssl.SSLContext):
    """A context that gives OpenSSL the proxy's name where urllib3 1.x gives none (a proxy at an IP address)."""

    name: str | None = None

    def wrap_socket(
        self, sock: socket.socket, *args: object, server_hostname: str | None = None, **kwargs: object
    ) -> ssl.SSLSocket:
        """The handshake with the proxy; a certificate it fails is marked as the proxy's, which urllib3 1.x would
        tell as the party's."""
        try:
            return super().wrap_socket(sock, *args, server_hostname=server_hostname or self.name, **kwargs)
        except ssl.SSLCertVerificationError as failure:
            marked = ProxyUntrusted(*failure.args)
            marked.verify_message, marked.verify_code = failure.verify_message, failure.verify_code
            raise marked from failure


def _twin(context: ssl.SSLContext, kind: type[ssl.SSLContext]) -> ssl.SSLContext:
    twin = kind(ssl.PROTOCOL_TLS_CLIENT)
    twin.verify_mode = ssl.CERT_REQUIRED
    twin.verify_flags = context.verify_flags
    twin.minimum_version = context.minimum_version
    directory, _ = system_store()
    if directory:  # read lazily, as the context's own
        twin.load_verify_locations(capath=directory)
    loaded = context.get_ca_certs(binary_form=True)  # cacerts, and the system's bundle where it was read whole
    if loaded:
        twin.load_verify_locations(cadata=b"".join(loaded))
    return twin
