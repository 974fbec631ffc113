"""The SMTP items of the configuration: the server, its security, the login (a password or OAuth2), the EHLO name."""

from __future__ import annotations

from ipaddress import ip_address
from re import fullmatch

from feedback.items import WHERE, ConfigError, Items
from feedback.microsoft.settings import OAUTH_SCOPE, OAuthSettings, client_credentials
from feedback.reach import Reach
from feedback.redaction import shortened
from feedback.secret_forms import without_secrets
from feedback.shapes import shape

SECURITY_MODES = ("starttls", "tls", "none")
AUTH_MODES = ("password", "oauth2", "none")
_DOMAIN = r"(?i)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"


@shape
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    reach: Reach  # its trust and its wait; never its proxies, which carry HTTP
    auth: str
    oauth: OAuthSettings | None
    ehlo_name: str | None

    __repr__ = without_secrets

    @property
    def where(self) -> str:
        """host:port as errors name the server; an IPv6 address in brackets, so that its port stays apart."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def smtp_settings(items: Items, reach: Reach) -> SmtpSettings:
    security = items.choice("smtp_security", SECURITY_MODES, "starttls")
    user = items.text("smtp_user")
    auth = items.choice("smtp_auth", AUTH_MODES, "password")
    if user and security == "none" and auth != "none":
        raise ConfigError(
            "smtp_user is set while smtp_security is 'none': the password would cross the network"
            f" in clear text. Choose 'starttls' or 'tls', or clear smtp_user. {WHERE}"
        )
    password = items.text("smtp_password", secret=True, strip=False)
    if user and auth == "password" and not password:  # told by the server only after a login that counts as failed
        raise ConfigError(
            "smtp_user is set and smtp_password is empty: the server would refuse the login, and may count it toward"
            " locking the account. Fill in smtp_password, or clear smtp_user for a relay that takes mail without a"
            f" login. {WHERE}"
        )
    return SmtpSettings(
        host=_host(items),
        port=int(items.number("smtp_port", 25, low=1, high=65535, whole=True)),
        security=security,
        user=user,
        password=password,
        reach=reach,
        auth=auth,
        oauth=_smtp_oauth(items, reach, user) if auth == "oauth2" else None,
        ehlo_name=_ehlo_name(items),
    )


def _host(items: Items) -> str:
    """A host name (a container's may hold '_') or an IP address: a scheme, a port or a line break in it would reach
    the resolver, which says only that it cannot resolve it."""
    host = items.text("smtp_host", "localhost", required=True)
    if fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?", host):
        return host
    try:
        ip_address(host)  # ::1, as smtplib takes it, without brackets
        return host
    except ValueError:
        pass
    raise ConfigError(
        f"smtp_host must be a host name or an IP address, like smtp.example.org (it is {shortened(host, 80)!r}):"
        f" no scheme, and the port in smtp_port. {WHERE}"
    )


def _ehlo_name(items: Items) -> str | None:
    """A name for relays that want a particular one in EHLO; it goes on the command line as it is, so it is checked."""
    name = items.text("smtp_ehlo_name")
    if name is None or fullmatch(_DOMAIN, name) or _address_literal(name):
        return name
    raise ConfigError(
        "smtp_ehlo_name must be a fully qualified domain name like mail.example.org, or an address literal like"
        f" [192.0.2.1]. {WHERE}"
    )


def _address_literal(name: str) -> bool:
    """`[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3), each holding an address of its version."""
    if not (name.startswith("[") and name.endswith("]")):
        return False
    inner = name[1:-1]
    version, text = (6, inner[5:]) if inner.startswith("IPv6:") else (4, inner)
    try:
        return ip_address(text).version == version
    except ValueError:
        return False


def _smtp_oauth(items: Items, reach: Reach, user: str | None) -> OAuthSettings:
    """The client-credentials grant for smtp_auth 'oauth2': every item it needs, or an error naming the missing."""
    oauth = client_credentials(
        items,
        reach,
        items.text("oauth_scope", OAUTH_SCOPE),
        "smtp_auth is 'oauth2'",
        "the responder needs the token endpoint, the app's client ID and certificate (or secret), and in smtp_user"
        " the mailbox"
        " it sends as. It never falls back to a password or to no login.",
        smtp_user=user,
    )
    if not (user.isascii() and user.isprintable()):
        raise ConfigError(f"smtp_user must be the mailbox's address in ASCII for smtp_auth 'oauth2'. {WHERE}")
    return oauth
