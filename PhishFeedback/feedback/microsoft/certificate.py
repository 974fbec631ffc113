"""Entra ID's certificate credential: the app proves who it is with a JWT signed by its certificate's key.

Microsoft recommends it over a client secret for production apps: Entra ID holds only the public
certificate, and what crosses the network is an assertion that is good for one request and a few
minutes. The admin pastes the certificate and its private key, both in PEM, into
`oauth_client_certificate`; they are read and checked when the settings are read
(feedback/microsoft/settings.py), so that a wrong paste is one sentence before anything is sent.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from feedback.items import WHERE, ConfigError
from feedback.jwt import base64url, rsa_private_key, signed
from feedback.older_cryptography import certificates, expiry
from feedback.redaction import remember_secret_text
from feedback.shapes import shape

ITEM = "oauth_client_certificate"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Entra ID takes an assertion that lives 5 to 10 minutes; it is sent at once, and never again.
LIFETIME = 600
# A certificate and an 8192-bit key in PEM are under 10 kB; a chain beside them, a few more.
LONGEST_TEXT = 64 * 1024
MAKE = (
    f"Paste into {ITEM} the certificate uploaded to the app registration (Certificates & secrets → Certificates)"
    " and its private key, both in PEM, one after the other (docs/graph.md shows how to make them with openssl)."
)


@shape
class ClientCertificate:
    thumbprint: str  # x5t#S256: base64url of the SHA-256 of the certificate's DER, how Entra ID finds it
    key: object  # cryptography's RSA private key, checked against the certificate

    def __repr__(self) -> str:
        return f"ClientCertificate(thumbprint={self.thumbprint!r})"


def read_certificate(text: str) -> ClientCertificate:
    """The certificate and its key from the pasted PEM; each way the paste can be wrong is a ConfigError naming ITEM."""
    remember_secret_text(text)
    if len(text) > LONGEST_TEXT:
        raise ConfigError(f"{ITEM} holds {len(text):,} characters, more than a certificate and its key. {MAKE} {WHERE}")
    key = rsa_private_key(text, ITEM, MAKE)
    from cryptography.hazmat.primitives import serialization

    try:
        pasted = certificates(text.encode("utf-8", "replace"))
    except ValueError:
        raise ConfigError(f"{ITEM} holds no certificate in PEM beside the key. {MAKE} {WHERE}") from None
    public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    own = [c for c in pasted if c.public_key().public_bytes(*public) == key.public_key().public_bytes(*public)]
    if not own:
        raise ConfigError(
            f"The private key in {ITEM} does not belong to its certificate: paste the key made with that"
            f" certificate. {MAKE} {WHERE}"
        )
    ends = expiry(own[0])
    if ends.timestamp() <= time.time():
        raise ConfigError(
            f"The certificate in {ITEM} expired on {ends:%Y-%m-%d}: make a new one, upload it to the app"
            f" registration and paste it with its key. {MAKE} {WHERE}"
        )
    der = own[0].public_bytes(serialization.Encoding.DER)
    return ClientCertificate(base64url(hashlib.sha256(der).digest()), key)


def client_assertion(certificate: ClientCertificate, client_id: str, token_url: str, now: float) -> str:
    """The JWT that stands for the client secret in one token request: for `token_url` alone, with its own `jti`."""
    issued = int(now)
    claims = {
        "aud": token_url,
        "iss": client_id,
        "sub": client_id,
        "jti": str(uuid.uuid4()),
        "nbf": issued,
        "iat": issued,
        "exp": issued + LIFETIME,
    }
    return signed(claims, {"x5t#S256": certificate.thumbprint}, certificate.key, "PS256")
