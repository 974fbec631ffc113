"""What a job that signs meets where cryptography is older than 42, as the python3-cryptography of Debian 11 (3.3),
Debian 12 (38) and Ubuntu 24.04 (41) are (a Cortex that runs the system's Python has them, and requirements.txt asks
for no more than 3.3); feedback/jwt.py and feedback/microsoft/certificate.py ask here.

Before 39, a private key's numbers are always checked as it is loaded, and PEM text yields one certificate a call;
before 42, a certificate's end is a naive datetime in UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
    from cryptography.x509 import Certificate

# The PEM labels cryptography reads as a certificate.
CERTIFICATE_LABELS = (b"CERTIFICATE-----", b"X509 CERTIFICATE-----")


def private_key(data: bytes, checked: bool) -> PrivateKeyTypes:
    """The key, its numbers checked or not (checked always before 39, which knows no such choice)."""
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(data, password=None, unsafe_skip_rsa_key_validation=not checked)
    except TypeError as unknown:
        if "unsafe_skip_rsa_key_validation" not in str(unknown):
            raise
        return serialization.load_pem_private_key(data, password=None)


def certificates(data: bytes) -> list[Certificate]:
    """Every certificate in the PEM text; a ValueError where there is none, or one cannot be read."""
    from cryptography import x509

    if hasattr(x509, "load_pem_x509_certificates"):
        return x509.load_pem_x509_certificates(data)
    after_each_begin = data.split(b"-----BEGIN ")[1:]
    blocks = [b"-----BEGIN " + block for block in after_each_begin if block.startswith(CERTIFICATE_LABELS)]
    if not blocks:
        raise ValueError("no certificate in the PEM text")
    return [x509.load_pem_x509_certificate(block) for block in blocks]


def expiry(certificate: Certificate) -> datetime:
    """When the certificate stops being valid, as an aware datetime."""
    ends = getattr(certificate, "not_valid_after_utc", None)
    return ends if ends is not None else certificate.not_valid_after.replace(tzinfo=timezone.utc)
