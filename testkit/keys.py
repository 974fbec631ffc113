"""Private keys and certificates as admins paste them, the right ones and every kind of wrong one.

An app registration's certificate (openssl req -x509 -newkey rsa:2048 …) with its key, in PEM; RSA
keys too small for any service (made from primes found here, since cryptography makes none under
1024 bits) or too large (numbers that have only the size of a key: they are refused on their size
before anything else is read) or damaged, encrypted and elliptic-curve keys.
"""

from __future__ import annotations

import datetime
import functools
import random

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@functools.cache
def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key of `bits`, made once per test session."""
    if bits >= 1024:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    rng = random.Random(bits)
    while True:
        p, q = _prime(bits // 2, rng), _prime(bits - bits // 2, rng)
        if (p * q).bit_length() == bits and (p - 1) * (q - 1) % 65537:
            return _key_of(p, q)


def sized_key(bits: int) -> str:
    """The PEM of a key whose modulus has `bits` bits (or one less); its other numbers only fill the form and do
    not agree with it: cheap to make at any size."""
    rng = random.Random(bits)
    p = rng.getrandbits(bits // 2) | 1 << (bits // 2 - 1) | 1
    q = rng.getrandbits(bits - bits // 2) | 1 << (bits - bits // 2 - 1) | 1
    numbers = rsa.RSAPrivateNumbers(
        p, q, d=rng.getrandbits(bits) | 1, dmp1=3, dmq1=3, iqmp=3, public_numbers=rsa.RSAPublicNumbers(65537, p * q)
    )
    return pem(numbers.private_key(unsafe_skip_rsa_key_validation=True))


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(key, passphrase: bytes | None = None) -> str:
    """The key in PKCS#8 PEM, as openssl writes it (-nodes), or encrypted with `passphrase`."""
    protection = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protection).decode()


def certificate(key, days: float = 730, name: str = "PhishFeedback") -> x509.Certificate:
    """A self-signed certificate for the key, as docs/graph.md's openssl command makes; negative `days`: expired."""
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start, end = sorted((now - datetime.timedelta(days=1), now + datetime.timedelta(days=days)))
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(days=1))
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def thumbprint(cert: x509.Certificate) -> str:
    """x5t#S256: base64url of the SHA-256 of the certificate's DER, as Entra ID computes it."""
    import base64
    import hashlib

    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _key_of(p: int, q: int) -> rsa.RSAPrivateKey:
    d = pow(65537, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(65537, p * q)
    )
    return numbers.private_key()


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | 1 << (bits - 1) | 1
        if _probably_prime(candidate, rng):
            return candidate


def _probably_prime(n: int, rng: random.Random) -> bool:
    """Miller-Rabin, 40 rounds."""
    if any(n % small == 0 for small in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31)):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True
