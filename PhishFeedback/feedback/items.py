"""Typed access to the configuration items Cortex hands the job, and the error that names one.

An admin can save any JSON value in an item, and Cortex sends an unset item as null
(docs/cortex-and-thehive.md §1, §3): each reader here checks the type and the range once, and a bad value
becomes one sentence that names the item and where to fix it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from feedback.errors import PhishFeedbackError

# Each enabled flavour keeps its own copy of the settings (docs/flavours.md): the one that ran is the one to fix.
# The two responders, as their manifests name them and Cortex lists them under Organisation → Responders.
VERDICT_RESPONDER, ACKNOWLEDGE_RESPONDER = "Phish_Feedback", "Phish_Feedback_Acknowledge"
WHERE = (
    "Fix it in Cortex under Organisation → Responders, in the responder that ran"
    f" ({VERDICT_RESPONDER} or {ACKNOWLEDGE_RESPONDER})."
)
# Where a value should read the same in both flavours: changing one copy leaves the other as it was.
IN_BOTH = f"Organisation → Responders, in {VERDICT_RESPONDER} and in {ACKNOWLEDGE_RESPONDER} alike"


# What a key or a name sent in an HTTP header (an API key, an organisation) must not hold (`header_safe`).
UNSENDABLE = "holds a character that an HTTP header cannot carry (one outside Latin-1, or a control character)"


def header_safe(value: str) -> bool:
    """Whether it can go in an HTTP header as http.client sends one: Latin-1, with no control character."""
    return all(" " <= c <= "~" or "\xa0" <= c <= "\xff" for c in value)


def is_url(url: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in schemes and bool(parts.hostname) and not _unusable_host(url)
    except ValueError:
        return False


def _unusable_host(url: str) -> bool:
    """Whether the URL's address is one no connection takes: a label empty (`corp..example`) or past 63 characters,
    which the connection would refuse only when made, or a port out of range or 0."""
    try:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.isascii():
            parts.hostname.encode("idna")
        return parts.port == 0
    except ValueError:  # UnicodeError too
        return True


class ConfigError(PhishFeedbackError):
    """The admin's configuration cannot work; the message names the item."""


class Items:
    """Typed access to configuration items; None, as Cortex sends for an unset item, means the default, and so does
    "", which Cortex keeps for a text box emptied in its form."""

    def __init__(self, raw: dict) -> None:
        self.raw = raw

    def text(
        self,
        name: str,
        default: str | None = None,
        *,
        required: bool = False,
        secret: bool = False,
        strip: bool = True,
        keep_spaces: bool = False,
    ) -> str | None:
        """The item's text, None when unset or blank. Stripped, unless `keep_spaces` (a template's or signature's
        indentation is its layout) or `strip` is False (a password is sent as typed, blank included); an emptied
        item is its default, since Cortex keeps an emptied box as ""."""
        value = self.raw.get(name)
        if value is None or value == "":
            value = default
        if value is not None and not isinstance(value, str):
            shown = "" if secret else f" (it is {value!r:.60})"
            raise ConfigError(f"{name} must be text{shown}. {WHERE}")
        if value is not None and strip and not keep_spaces:
            value = value.strip()
        if keep_spaces and value is not None and not value.strip():
            value = None
        if required and not value:
            raise ConfigError(f"{name} is required and empty. {WHERE}")
        return value or None

    def number(self, name: str, default: float, *, low: float, high: float, whole: bool = False) -> float:
        value = self.raw.get(name)
        if value is None:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not low <= value <= high
            or (whole and value != int(value))
        ):
            kind = "a whole number" if whole else "a number"
            text = ", a text: write the number without quotes" if _number_in_quotes(value, low, high, whole) else ""
            raise ConfigError(f"{name} must be {kind} from {low:g} to {high:g} (it is {value!r:.60}{text}). {WHERE}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            quoted = isinstance(value, str) and value.strip().lower() in ("true", "false")
            text = ", a text: write true or false without quotes" if quoted else ""
            raise ConfigError(f"{name} must be true or false (it is {value!r:.60}{text}). {WHERE}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        typed = self.text(name) or default
        if typed.lower() not in choices:  # echoed as typed: the admin looks for what they wrote
            raise ConfigError(f"{name} must be one of {', '.join(choices)} (it is {typed!r:.60}). {WHERE}")
        return typed.lower()

    def text_list(self, name: str) -> list[str]:
        """The entries given; Cortex's form saves an entry left empty as null (`[null]` for an untouched item)."""
        value = self.raw.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be a list of texts. {WHERE}")
        return [v for v in value if v is not None and v.strip()]

    def link(self, name: str) -> str | None:
        """An address every message links to: http or https to a host, so that no reporter gets a dead or
        script link (`www.example.org/phishing`, `javascript:`)."""
        url = self.text(name)
        # A space would end the link where mail readers find links in the plain text.
        if url is not None and (not is_url(url, ("https", "http")) or any(c.isspace() for c in url)):
            raise ConfigError(
                f"{name} must be a web address, like https://intranet.example.org/phishing (it is {url!r:.80}). {WHERE}"
            )
        return url

    def api_url(self, name: str, default: str) -> str:
        """A web API's root: https, no user name or password in it, no path (the responder adds the API's version:
        `…/v1.0` pasted from a sample would ask for `/v1.0/v1.0/…` and a token for `…/v1.0/.default`), no trailing
        slash."""
        url = self.text(name, default)
        refuse_cleartext(name, url, "the access token")
        if not is_url(url, ("https",)) or "@" in (parts := urlsplit(url)).netloc:
            raise ConfigError(f"{name} must be an https URL without a user name, like {default}. {WHERE}")
        if parts.path.strip("/") or parts.query:
            raise ConfigError(f"{name} must be the API's root, without a path, like {default}. {WHERE}")
        return url.rstrip("/")

    def proxies(self) -> dict[str, str]:
        """Cortex sends `proxy: {http, https}` when a proxy is set, and `proxy_http`/`proxy_https` always."""
        proxy = self.raw.get("proxy")
        if not isinstance(proxy, dict):
            proxy = {"http": self.raw.get("proxy_http"), "https": self.raw.get("proxy_https")}
        taken = {k: v for k, v in proxy.items() if k in ("http", "https") and isinstance(v, str) and v}
        for scheme, url in taken.items():
            if _unusable_host(url):  # its credentials, if any, left unsaid
                raise ConfigError(
                    f"proxy_{scheme} is no URL a connection can take: a host with a label empty or past 63 characters,"
                    " a port out of range or 0, or a password holding `/`, `@` or `:`, which must be percent-encoded"
                    f" (`%2F`, `%40`, `%3A`). Correct Cortex's proxy setting. {WHERE}"
                )
        return taken


def _number_in_quotes(value: object, low: float, high: float, whole: bool) -> bool:
    """Whether `value` is a text that, without its quotes, is a number the item takes: only then are the quotes the
    fault ('99999' is out of range as a number too)."""
    try:
        number = float(value.strip()) if isinstance(value, str) else None
    except ValueError:
        return False
    return number is not None and low <= number <= high and (not whole or number == int(number))


def cleartext_refusal(name: str, url: str, secret: str) -> str | None:
    """Why `url` may not carry `secret` (an API key, a token), or None: plain http:// only to this machine.

    Over http:// the secret crosses the network as readable text; to a loopback address
    (127.0.0.0/8, ::1, localhost) it never leaves the machine. The host is read as written, not
    resolved, so no name server decides it.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None  # no URL at all: is_url's caller says so
    if parts.scheme != "http" or is_loopback(host):
        return None
    return (
        f"{name} must be an https URL: over http:// to {host!s:.80}, which is not this machine, {secret} would cross"
        " the network in clear text."
    )


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.rstrip(".") == "localhost":  # urlsplit gives the host in lower case
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_cleartext(name: str, url: str, secret: str, otherwise: str = "") -> None:
    """The configuration's form of `cleartext_refusal`: a ConfigError that says where to fix the item, and
    `otherwise`, what else the admin may do where the item is optional."""
    refusal = cleartext_refusal(name, url, secret)
    if refusal:
        raise ConfigError(f"{refusal}{otherwise} {WHERE}")
