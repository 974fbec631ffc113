"""Scrubbing a text that echoes a whole private key, or a long text holding a piece of the login string while many
reporters are spared: feedback/redaction.py against its plain definition.

A server that quotes what it got can echo a Gmail service account's JSON key, or a PEM certificate
and key, several KB of secret: every GRAM of it is a hit. The first 40 characters of the AUTH PLAIN
string follow from the login alone: anyone who reads the sender's address can put them in an
observable, and every reporter accepted, and every tag of the record, is a spared text
(feedback/redaction.py, `spare`). Prints the median time of one scrub by each, and their ratio;
`./dev bench` prints the same lines. Run alone: `.venv/bin/python -m bench.scrub`.
"""

from __future__ import annotations

import base64
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
secret_index = importlib.import_module("feedback.secret_index")
plain_definition = importlib.import_module("testkit.slow_scrub")
slow_scrub, forget_secrets = plain_definition.slow_scrub, plain_definition.forget_secrets
ROUNDS = 15
# The spared texts of a campaign of 100,000 reporters, and one text of 1 MB.
SPARED, TEXT = 100_000, 1_000_000
# The plain definition looks for each spared text through the whole text, a minute in all: it is timed for this many
# of them, and the time multiplied.
SAMPLE = 1_000


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


def median_ms(scrub: Callable[[str], object], text: str, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
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


def spared_compared() -> str:
    """A text made of pieces of the login string (the first 40 characters of its AUTH PLAIN base64 follow from the
    login alone), while a campaign's reporters of some thirty address lengths are spared."""
    forget_secrets()
    user = "phishing-feedback@soc.example.org"
    redaction.remember_secrets({"smtp_user": user, "smtp_password": "Corr3ct-Horse-Battery-Staple"})
    reporters = [f"{'r' * (i % 30)}eporter{i}@example.org" for i in range(SPARED)]
    redaction.spare(*reporters)
    piece = base64.b64encode(f"\0{user}\0".encode()).decode()[:40]
    text = " ".join([piece] * (TEXT // (len(piece) + 1)))
    if piece in redaction.scrub(text) or redaction.MASK not in redaction.scrub(text):
        raise SystemExit("the pieces of the login string are not blotted out")
    sample = reporters[:: SPARED // SAMPLE]
    fast = median_ms(redaction.scrub, text, 3)
    found = median_ms(secret_index.found, text, 3)
    looked_for = median_ms(lambda text: [secret_index.occurrences(text, t) for t in sample], text, 3)
    slow = found + looked_for * SPARED / SAMPLE
    said = f"scrub of {TEXT:,} characters of pieces of the login string, {SPARED:,} reporters of 30 lengths spared"
    plain = f"by its plain definition, each spared text looked for through the text, {slow / 1000:.1f} s"
    return f"{said}: {fast:.0f} ms (finding the pieces alone {found:.0f} ms); {plain} ({slow / fast:.0f} times as long)"


def lines() -> list[str]:
    private, certificate = key_and_certificate()
    account = json.dumps({"type": "service_account", "private_key": private, "client_email": "soc@example.org"})
    return [
        compared("a Gmail service account key", account, account),
        compared("a PEM certificate and 2,048-bit key", certificate + private, certificate + private),
        spared_compared(),
    ]


if __name__ == "__main__":
    print("\n".join(lines()))
