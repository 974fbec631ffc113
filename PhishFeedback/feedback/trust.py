"""Whom TLS trusts: the system's CAs plus the PEM text in Cortex's `cacerts` setting.

Cortex's `cacerts` is meant for an internal CA; the system store stays trusted beside it, and
certificate and host-name checks stay on for the SMTP server, the OAuth2 token endpoint and TheHive.

Reading the system's CA bundle costs a bare sending script about 40 % of its CPU: OpenSSL parses
every certificate in it. A hashed directory (`/etc/ssl/certs` on Debian and in python:3-slim) is
read lazily, one certificate when a verification needs it, so it is used where the system has one;
a store that is only a bundle file (RHEL) is read as before. SSL_CERT_DIR and SSL_CERT_FILE move
the store as they do for OpenSSL; a file named by SSL_CERT_FILE is read too, unless it lies in the
hashed directory itself (Debian's `ca-certificates.crt`: the same certificates, concatenated).

Any CA in the store ends a chain (VERIFY_X509_PARTIAL_CHAIN, which Python 3.13 sets and older ones
do not): an admin pastes in `cacerts` the CA that issued the server's certificate, often an internal
intermediate, and OpenSSL would otherwise look on for a self-signed root that is not there. The
chain up to that CA, its signatures, dates and the host name are still checked.
"""

from __future__ import annotations

import os
import re
import ssl
from functools import lru_cache

from feedback.items import WHERE, ConfigError

HEX = frozenset("0123456789abcdef")
# OpenSSL's X509_V_FLAG_PARTIAL_CHAIN, which the ssl module names from Python 3.10 on.
PARTIAL_CHAIN = getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0x80000)
PEM_CERTIFICATE = r"-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----"


@lru_cache(maxsize=4)
def trust_context(cacerts: str | None) -> ssl.SSLContext:
    """Whom the job trusts: the system's store, then cacerts; made once per job for every party that asks.

    Reading the system's store is most of a context's cost, and a job that reads TheHive and sends
    mail would pay it twice; nothing changes a context once made, so the parties share it.
    """
    directory, bundle = system_store()
    try:
        context = ssl.create_default_context(cafile=bundle, capath=directory)
    except (ssl.SSLError, OSError) as unusable:
        raise ConfigError(_unusable_bundle(bundle, unusable)) from None
    context.verify_flags |= PARTIAL_CHAIN
    if cacerts:
        # OpenSSL passes over the text around the certificates (an export's "Bag Attributes", a comment), but Python
        # hands it ASCII only: a CA named "Société" there would stop every job.
        pem = cacerts if cacerts.isascii() else _certificates(cacerts)
        try:
            context.load_verify_locations(cadata=pem)
        except (ssl.SSLError, ValueError, TypeError):
            raise CacertsError(f"The cacerts setting holds no valid PEM certificate. {WHERE}") from None
    return context


def _certificates(text: str) -> str:
    """The PEM certificates of a text that holds more; none where a block is not a whole certificate, as OpenSSL
    would refuse it in a text of ASCII alone."""
    blocks = re.findall(PEM_CERTIFICATE, text)
    return "\n".join(blocks) if len(blocks) == text.count("-----BEGIN") else ""


class CacertsError(ConfigError):
    """The CA certificates given to the job (or to a script, as --cacerts) are no PEM: told apart from the system's."""


def _unusable_bundle(bundle: str | None, error: Exception) -> str:
    """A store OpenSSL was pointed at but cannot use: said as that, not blamed on cacerts."""
    what = error.strerror if isinstance(error, OSError) and error.strerror else "it holds no PEM certificate"
    variable = ssl.get_default_verify_paths().openssl_cafile_env
    if variable in os.environ:
        return (
            f"{variable} names the CA bundle {bundle}, which cannot be used ({what}). Correct or unset {variable}"
            " in the environment Cortex runs the responder in."
        )
    return f"The system's CA bundle {bundle} cannot be used ({what}). Repair the system's trust store."


def system_store() -> tuple[str | None, str | None]:
    """The system's hashed directory where it has one, else its bundle file: (directory, bundle)."""
    paths = ssl.get_default_verify_paths()
    directory = paths.capath if paths.capath and _hashed(paths.capath) else None
    bundle = paths.cafile
    if (
        directory
        and bundle
        and (
            paths.openssl_cafile_env not in os.environ
            or os.path.dirname(os.path.realpath(bundle)) == os.path.realpath(directory)
        )
    ):
        bundle = None
    return directory, bundle


def _hashed(directory: str) -> bool:
    """Whether the directory has a link named as `openssl rehash` names them: <subject hash>.<n>, e.g. 9d04f354.0."""
    try:
        with os.scandir(directory) as entries:
            return any(_hash_name(entry.name) for entry in entries)
    except OSError:
        return False


def _hash_name(name: str) -> bool:
    return len(name) > 9 and name[8] == "." and name[9:].isdigit() and HEX.issuperset(name[:8])
