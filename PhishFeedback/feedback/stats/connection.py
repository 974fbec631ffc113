"""Where TheHive is and how to trust it, from thehive_stats.py's options: each mistake one sentence.

As thehive_setup.py does: the key from the environment only, TLS verified against the system's CAs and
--cacerts, no user or password in the URL. Plain http:// only to this machine (loopback), where no one
else can read the key on the way.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from feedback.items import is_url
from feedback.thehive.field_setup import SetupError
from feedback.thehive.settings import TheHiveSettings

TIMEOUT = 30.0


def thehive_settings(
    url: str, apikey: str, organisation: str | None, cacerts: str | None, variable: str
) -> TheHiveSettings:
    if not apikey:
        raise SetupError(
            f"Set the environment variable {variable} to the API key of a TheHive user who may read the cases."
        )
    url = url.rstrip("/")
    if not is_url(url, ("https", "http")) or "@" in urlsplit(url).netloc:
        raise SetupError(
            "--url must be TheHive's address like https://thehive.example.org, with no user or password in it"
            f" (the key comes from {variable})."
        )
    if urlsplit(url).scheme == "http" and not loopback(urlsplit(url).hostname or ""):
        raise SetupError(
            f"--url {url} is plain http to another machine, which would send the API key unencrypted: use https://."
        )
    return TheHiveSettings(
        url=url,
        apikey=apikey,
        organisation=organisation,
        api="auto",
        proxies={},
        timeout=TIMEOUT,
        cacerts=_pem(cacerts),
    )


def loopback(host: str) -> bool:
    """Whether the host is this machine: localhost, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pem(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="ascii") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as failure:
        raise SetupError(f"--cacerts {path} cannot be read ({failure.__class__.__name__}).") from None
