"""Certificates for the loopback servers: a private CA that issued them, which the jobs are told to trust."""

from __future__ import annotations

import ssl

import trustme


class Certificates:
    """A private CA and a server certificate for localhost and 127.0.0.1, as trustme makes them."""

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.server = self.ca.issue_cert("localhost", "127.0.0.1")
        self.ca_pem = self.ca.cert_pem.bytes().decode()

    def server_context(self, certificate: trustme.LeafCert | None = None) -> ssl.SSLContext:
        """A server's TLS context presenting `certificate` (one the CA issued), by default the localhost one."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        (certificate or self.server).configure_cert(context)
        return context


class IntermediateCertificates(Certificates):
    """A root CA, an internal intermediate it signed, and a server certificate the intermediate issued.

    The server presents its certificate and the intermediate's; `ca_pem` is the intermediate alone, as an
    admin pastes the CA that issued the server's certificate, `root_pem` the root above it.
    """

    def __init__(self, *hosts: str) -> None:
        root = trustme.CA()
        self.ca = root.create_child_ca()
        self.server = self.ca.issue_cert(*(hosts or ("localhost", "127.0.0.1")))
        self.ca_pem = self.ca.cert_pem.bytes().decode()
        self.root_pem = root.cert_pem.bytes().decode()
