"""The responder's configuration as a Cortex admin set it in Organisation → Responders.

Cortex hands every configuration item to the job, set or not (docs/cortex-and-thehive.md §1), and an admin can
save odd values; everything is checked here once, so that the rest of the code can trust its
settings and a bad value becomes one sentence that names the item to fix.
"""

from __future__ import annotations

from email.utils import getaddresses
from re import fullmatch
from urllib.parse import urlsplit

from feedback.addresses import AddressError, parse_address
from feedback.api_settings import (
    OAUTH_SCOPE,
    GmailSettings,
    GraphSettings,
    OAuthSettings,
    client_credentials,
    gmail_settings,
    graph_settings,
)
from feedback.case import printable
from feedback.flavours import TEMPLATE_ITEMS, read_flavour, read_languages
from feedback.items import WHERE, ConfigError, Items, is_url
from feedback.redaction import without_secrets
from feedback.shapes import shape

SECURITY_MODES = ("starttls", "tls", "none")
AUTH_MODES = ("password", "oauth2", "none")
# How messages leave (docs/graph.md): SMTP, Microsoft Graph's sendMail, the Gmail API's messages.send.
DELIVERIES = ("smtp", "graph", "gmail")
THEHIVE_APIS = ("auto", "v1", "legacy")
_DOMAIN = r"(?i)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
# Share of Cortex's jobTimeout the responder allows itself, so that it reports before Cortex kills it.
TIME_BUDGET_SHARE = 0.8


@shape
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    timeout: float
    cacerts: str | None
    auth: str
    oauth: OAuthSettings | None
    ehlo_name: str | None

    __repr__ = without_secrets

    @property
    def where(self) -> str:
        """host:port as errors name the server; an IPv6 address in brackets, so that its port stays apart."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@shape
class Limits:
    """What the delivery policy allows every way out: the wait for an answer, retries, the pace."""

    timeout: float
    retries: int
    max_per_minute: float


@shape
class TheHiveSettings:
    url: str
    apikey: str
    organisation: str | None
    api: str
    proxies: dict[str, str]
    timeout: float
    cacerts: str | None

    __repr__ = without_secrets


@shape
class Settings:
    sender_name: str
    sender_address: str
    delivery: str
    smtp: SmtpSettings | None
    graph: GraphSettings | None
    gmail: GmailSettings | None
    limits: Limits
    thehive: TheHiveSettings | None
    custom_field: str
    title_prefix: str
    sent_tag: str
    failed_tag: str
    allowed_domains: tuple[str, ...]
    reporter_tag: str
    flavour: str
    languages: tuple[str, ...]
    subject: str | None
    guidance_url: str | None
    signature: str | None
    templates: dict[str, str]
    dry_run: bool
    time_budget: float


def read_settings(config: object, parameters: object) -> Settings:
    if not isinstance(config, dict):
        raise ConfigError("The job carries no configuration object. Re-save the responder's settings in Cortex.")
    items = Items(config)
    sender_name, sender_address = _sender(items.text("from", required=True))
    delivery = items.choice("delivery", DELIVERIES, "smtp")
    job_timeout = items.number("jobTimeout", 30, low=1, high=24 * 60)
    cacerts = items.text("cacerts", secret=True)
    timeout = items.number("smtp_timeout", 30, low=1, high=600)
    return Settings(
        sender_name=sender_name,
        sender_address=sender_address,
        delivery=delivery,
        smtp=_smtp(items, cacerts, timeout) if delivery == "smtp" else None,
        graph=graph_settings(items, cacerts, timeout) if delivery == "graph" else None,
        gmail=gmail_settings(items, cacerts, timeout) if delivery == "gmail" else None,
        # smtp_retries and smtp_max_per_minute pace every way out: named before the others came, kept for saved configs.
        limits=Limits(
            timeout=timeout,
            retries=int(items.number("smtp_retries", 2, low=0, high=10, whole=True)),
            max_per_minute=items.number("smtp_max_per_minute", 0, low=0, high=6000),
        ),
        thehive=_thehive(items, parameters, cacerts, timeout),
        custom_field=items.text("custom_field", "phishFeedback", required=True),
        title_prefix=items.text("title_prefix", "Phishing report") or "",
        sent_tag=items.text("sent_tag", "mail sent", required=True),
        failed_tag=items.text("failed_tag", "mail failed", required=True),
        allowed_domains=tuple(d.strip().lower().lstrip("@") for d in items.text_list("allowed_recipient_domains")),
        reporter_tag=items.text("reporter_tag", "reporter", required=True),
        flavour=read_flavour(items.raw.get("flavour")),
        languages=read_languages(items.text("language") or "en"),
        subject=_printable(items.text("subject")),
        guidance_url=_printable(items.text("guidance_url")),
        signature=_printable(items.text("signature", blank_is_unset=True)),
        templates={
            m: printable(t) for m, name in TEMPLATE_ITEMS.items() if (t := items.text(name, blank_is_unset=True))
        },
        dry_run=items.flag("dry_run"),
        time_budget=job_timeout * 60 * TIME_BUDGET_SHARE,
    )


def _smtp(items: Items, cacerts: str | None, timeout: float) -> SmtpSettings:
    security = items.choice("smtp_security", SECURITY_MODES, "starttls")
    user = items.text("smtp_user")
    auth = items.choice("smtp_auth", AUTH_MODES, "password")
    if user and security == "none" and auth != "none":
        raise ConfigError(
            "smtp_user is set while smtp_security is 'none': the password would cross the network"
            f" in clear text. Choose 'starttls' or 'tls', or clear smtp_user. {WHERE}"
        )
    return SmtpSettings(
        host=items.text("smtp_host", "localhost", required=True),
        port=int(items.number("smtp_port", 25, low=1, high=65535, whole=True)),
        security=security,
        user=user,
        password=items.text("smtp_password", secret=True, strip=False),
        timeout=timeout,
        cacerts=cacerts,
        auth=auth,
        oauth=_smtp_oauth(items, user) if auth == "oauth2" else None,
        ehlo_name=_ehlo_name(items),
    )


def _sender(value: str) -> tuple[str, str]:
    """The display name and address; an error quotes what was read, as the analyst cannot see the item."""
    read = f"'from' is '{' '.join(value.split())[:120]}'"
    pairs = getaddresses([value])
    if len(pairs) != 1:
        raise ConfigError(
            f"{read}, which holds {len(pairs)} addresses; it must hold exactly one sender address,"
            f" like SOC <soc@example.org>. {WHERE}"
        )
    name, address = pairs[0]
    # The parser gives '' for what it cannot read (`soc@`, `SOC <soc@>`): the text itself says why.
    candidate = address or value.rpartition("<")[2].partition(">")[0] or value
    try:
        address = parse_address(candidate)
    except AddressError as bad:
        raise ConfigError(
            f"{read}, which is not a usable sender address: {bad}. Write it like SOC <soc@example.org>. {WHERE}"
        ) from None
    return printable(name), address


def _printable(text: str | None) -> str | None:
    """A text that goes into the messages, fit for them once and for all (feedback/case.py `printable`)."""
    return None if text is None else printable(text)


def _ehlo_name(items: Items) -> str | None:
    """A name for relays that want a particular one in EHLO; it goes on the command line as it is, so it is checked."""
    name = items.text("smtp_ehlo_name")
    if name is None or fullmatch(_DOMAIN, name) or fullmatch(r"\[(IPv6:[0-9A-Fa-f:.]+|[0-9.]+)\]", name):
        return name
    raise ConfigError(
        "smtp_ehlo_name must be a fully qualified domain name like mail.example.org, or an address literal like"
        f" [192.0.2.1]. {WHERE}"
    )


def _thehive(items: Items, parameters: object, cacerts: str | None, timeout: float) -> TheHiveSettings | None:
    url = items.text("thehive_url")
    if not url:
        return None
    if not is_url(url, ("https", "http")):
        raise ConfigError(f"thehive_url must be a URL like https://thehive.example.org. {WHERE}")
    if "@" in urlsplit(url).netloc:
        raise ConfigError(
            "thehive_url holds a user name or password: remove them from the URL and put an API key in"
            f" thehive_apikey, which is kept out of every report. {WHERE}"
        )
    apikey = items.text("thehive_apikey", secret=True)
    if not apikey:
        raise ConfigError(f"thehive_url is set but thehive_apikey is empty: TheHive needs an API key. {WHERE}")
    job_organisation = parameters.get("organisation") if isinstance(parameters, dict) else None
    return TheHiveSettings(
        url=url.rstrip("/"),
        apikey=apikey,
        organisation=items.text("thehive_organisation")
        or (job_organisation if isinstance(job_organisation, str) else None),
        api=items.choice("thehive_api", THEHIVE_APIS, "auto"),
        proxies=items.proxies(),
        timeout=timeout,
        cacerts=cacerts,
    )


def _smtp_oauth(items: Items, user: str | None) -> OAuthSettings:
    """The client-credentials grant for smtp_auth 'oauth2': every item it needs, or an error naming the missing."""
    oauth = client_credentials(
        items,
        items.text("oauth_scope", OAUTH_SCOPE),
        "smtp_auth is 'oauth2'",
        "the responder needs the token endpoint, the app's client ID and secret, and in smtp_user the mailbox"
        " it sends as. It never falls back to a password or to no login.",
        smtp_user=user,
    )
    if not (user.isascii() and user.isprintable()):
        raise ConfigError(f"smtp_user must be the mailbox's address in ASCII for smtp_auth 'oauth2'. {WHERE}")
    return oauth
