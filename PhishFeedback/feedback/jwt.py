"""Signed JWTs for the token requests in which the job proves who it is with a private key rather than a secret.

Google's service accounts (RS256, feedback/google/token.py) and Entra ID's certificate credentials
(PS256, feedback/microsoft/certificate.py) both sign a short JWT with an RSA key an admin pasted
into an item. The key is loaded and checked here once, when the settings are read, so that every
way a pasted key can be wrong is one sentence naming its item, before anything is sent.
`cryptography` is imported on first use: only the jobs that sign load it.
"""

from __future__ import annotations

import base64
import json

from feedback.errors import not_installed
from feedback.items import WHERE, ConfigError
from feedback.older_cryptography import private_key
from feedback.redaction import remember

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

# Under 2048 bits a key is breakable and neither Entra ID nor Google takes it (and under 496, SHA-256 does not fit
# in its signature). Loading and checking a key costs about the cube of its size: 16,384 bits take half a minute.
SMALLEST_KEY = 2048
LARGEST_KEY = 8192


def rsa_private_key(pem: str, item: str, advice: str) -> RSAPrivateKey:
    """The RSA private key in the PEM text, checked; anything else is a ConfigError naming `item`, then `advice`.

    Its size is read before the key's numbers are checked, so that an oversized key costs nothing.
    """
    _need_cryptography(item)
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa

    data = pem.encode("utf-8", "replace")
    try:
        key = private_key(data, checked=False)
    except TypeError:  # cryptography's word for a key that needs a password
        raise ConfigError(
            f"The private key in {item} is encrypted: paste it without a passphrase (openssl pkey -in key.pem"
            f" -out plain.pem). {advice} {WHERE}"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{item} holds no private key in PEM that can be read. {advice} {WHERE}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            f"The private key in {item} is not an RSA key ({_kind(key)}): the responder signs with RSA. {advice}"
            f" {WHERE}"
        )
    if not SMALLEST_KEY <= key.key_size <= LARGEST_KEY:
        raise ConfigError(
            f"The RSA key in {item} has {key.key_size} bits; the responder takes {SMALLEST_KEY} to {LARGEST_KEY}"
            f" bits. {advice} {WHERE}"
        )
    try:
        return private_key(data, checked=True)
    except ValueError:
        raise ConfigError(f"The RSA key in {item} is damaged (its numbers do not agree). {advice} {WHERE}") from None


def signed(claims: dict, header: dict, key: RSAPrivateKey, algorithm: str, *, pieces: bool = True) -> str:
    """The compact JWT of `claims`, signed with `key` by `algorithm` (RS256 or PS256); a secret from now on, its
    pieces too unless one is signed for each reporter (feedback/secret_index.py)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    if algorithm == "PS256":
        # The salt as long as the hash, as RFC 7518 asks (what PSS.DIGEST_LENGTH says from cryptography 37 on).
        scheme = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)
    else:
        scheme = padding.PKCS1v15()
    signing_input = f"{_segment({'alg': algorithm, 'typ': 'JWT', **header})}.{_segment(claims)}"
    signature = key.sign(signing_input.encode("ascii"), scheme, hashes.SHA256())
    token = f"{signing_input}.{base64url(signature)}"
    remember(token, pieces=pieces)
    return token


def base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: dict) -> str:
    return base64url(json.dumps(value, separators=(",", ":")).encode())


def _kind(key: object) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    return "an elliptic-curve key" if isinstance(key, ec.EllipticCurvePrivateKey) else "another kind of key"


def _need_cryptography(item: str) -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"The key in {item} signs with the Python package cryptography: {not_installed('cryptography')}"
        ) from None
