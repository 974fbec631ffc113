"""Scrubbing a text that echoes a whole private key: feedback/redaction.py against its plain definition.

A server that quotes what it got can echo a Gmail service account's JSON key, or a PEM certificate
and key, several KB of secret: every GRAM of it is a hit. Prints the median time of one scrub by
each, and their ratio; `./dev bench` prints the same lines. Run alone: `.venv/bin/python -m bench.scrub`.
"""

from __future__ import annotations

import datetime
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from testkit.cortex import REPO

# The responder's package, as its script finds it (the tests have it on their path).
sys.path.insert(0, str(REPO / "PhishFeedback"))
redaction = importlib.import_module("feedback.redaction")
plain_definition = importlib.import_module("testkit.slow_scrub")
slow_scrub, forget_secrets = plain_definition.slow_scrub, plain_definition.forget_secrets
ROUNDS = 15


def key_and_certificate() -> tuple[str, str]:
    """A 2,048-bit RSA key and a certificate for it, in PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "soc.example.org")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    encoding = serialization.Encoding.PEM
    private = key.private_bytes(encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return private.decode(), certificate.public_bytes(encoding).decode()


def median_ms(scrub: Callable[[str], str], text: str) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        scrub(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def compared(name: str, secret: str, echoed: str) -> str:
    forget_secrets()
    redaction.remember_secret_text(secret)
    text = f"400 Bad request: the server could not read {echoed} (line 1)"
    if redaction.scrub(text) != slow_scrub(text):
        raise SystemExit(f"{name}: the scrub and its plain definition differ")
    fast, slow = median_ms(redaction.scrub, text), median_ms(slow_scrub, text)
    said = f"scrub of {len(text):,} characters echoing {name}: {fast:.2f} ms"
    return f"{said}; by its plain definition {slow:.1f} ms ({slow / fast:.0f} times as long)"


def lines() -> list[str]:
    private, certificate = key_and_certificate()
    account = json.dumps({"type": "service_account", "private_key": private, "client_email": "soc@example.org"})
    return [
        compared("a Gmail service account key", account, account),
        compared("a PEM certificate and 2,048-bit key", certificate + private, certificate + private),
    ]


if __name__ == "__main__":
    print("\n".join(lines()))
