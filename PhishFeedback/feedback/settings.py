"""The responder's configuration as a Cortex admin set it in Organisation → Responders.

Cortex hands every configuration item to the job, set or not (docs/cortex-and-thehive.md §1), and an admin can
save odd values; everything is checked here once, so that the rest of the code can trust its
settings and a bad value becomes one sentence that names the item to fix.
"""

from __future__ import annotations

from email.utils import getaddresses
from urllib.parse import urlsplit

from feedback.addresses import AddressError, parse_address
from feedback.case import printable
from feedback.items import WHERE, ConfigError, Items
from feedback.redaction import MASK, secret_item
from feedback.shapes import shape

SECURITY_MODES = ("starttls", "tls", "none")
AUTH_MODES = ("password", "oauth2", "none")
OAUTH_SCOPE = "https://outlook.office365.com/.default"
THEHIVE_APIS = ("auto", "v1", "legacy")
LANGUAGES = ("en", "fr", "nl")
VERDICT_ITEMS = {"Phishing": "template_phishing", "Spam": "template_spam", "Legit email": "template_legit"}
# Share of Cortex's jobTimeout the responder allows itself, so that it reports before Cortex kills it.
TIME_BUDGET_SHARE = 0.8


def _repr_without_secrets(settings: tuple) -> str:
    shown = (f"{k}={MASK if secret_item(k) else repr(v)}" for k, v in zip(settings._fields, settings))
    return f"{type(settings).__name__}({', '.join(shown)})"


@shape
class OAuthSettings:
    token_url: str
    client_id: str
    client_secret: str
    scope: str
    proxies: dict[str, str]

    __repr__ = _repr_without_secrets


@shape
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    timeout: float
    retries: int
    max_per_minute: float
    cacerts: str | None
    auth: str
    oauth: OAuthSettings | None

    __repr__ = _repr_without_secrets


@shape
class TheHiveSettings:
    url: str
    apikey: str
    organisation: str | None
    api: str
    proxies: dict[str, str]
    timeout: float
    cacerts: str | None

    __repr__ = _repr_without_secrets


@shape
class Settings:
    sender_name: str
    sender_address: str
    smtp: SmtpSettings
    thehive: TheHiveSettings | None
    custom_field: str
    title_prefix: str
    sent_tag: str
    failed_tag: str
    allowed_domains: tuple[str, ...]
    reporter_tag: str
    language: str
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
    security = items.choice("smtp_security", SECURITY_MODES, "starttls")
    user = items.text("smtp_user")
    auth = items.choice("smtp_auth", AUTH_MODES, "password")
    if user and security == "none" and auth != "none":
        raise ConfigError(
            "smtp_user is set while smtp_security is 'none': the password would cross the network"
            f" in clear text. Choose 'starttls' or 'tls', or clear smtp_user. {WHERE}"
        )
    job_timeout = items.number("jobTimeout", 30, low=1, high=24 * 60)
    cacerts = items.text("cacerts", secret=True)
    timeout = items.number("smtp_timeout", 30, low=1, high=600)
    return Settings(
        sender_name=sender_name,
        sender_address=sender_address,
        smtp=SmtpSettings(
            host=items.text("smtp_host", "localhost", required=True),
            port=int(items.number("smtp_port", 25, low=1, high=65535, whole=True)),
            security=security,
            user=user,
            password=items.text("smtp_password", secret=True, strip=False),
            timeout=timeout,
            retries=int(items.number("smtp_retries", 2, low=0, high=10, whole=True)),
            max_per_minute=items.number("smtp_max_per_minute", 0, low=0, high=6000),
            cacerts=cacerts,
            auth=auth,
            oauth=_oauth(items, user) if auth == "oauth2" else None,
        ),
        thehive=_thehive(items, parameters, cacerts, timeout),
        custom_field=items.text("custom_field", "phishFeedback", required=True),
        title_prefix=items.text("title_prefix", "Phishing report") or "",
        sent_tag=items.text("sent_tag", "mail sent", required=True),
        failed_tag=items.text("failed_tag", "mail failed", required=True),
        allowed_domains=tuple(d.strip().lower().lstrip("@") for d in items.text_list("allowed_recipient_domains")),
        reporter_tag=items.text("reporter_tag", "reporter", required=True),
        language=items.choice("language", LANGUAGES, "en"),
        subject=_printable(items.text("subject")),
        guidance_url=_printable(items.text("guidance_url")),
        signature=_printable(items.text("signature", blank_is_unset=True)),
        templates={
            v: printable(t) for v, name in VERDICT_ITEMS.items() if (t := items.text(name, blank_is_unset=True))
        },
        dry_run=items.flag("dry_run"),
        time_budget=job_timeout * 60 * TIME_BUDGET_SHARE,
    )


def _sender(value: str) -> tuple[str, str]:
    pairs = getaddresses([value])
    if len(pairs) != 1:
        raise ConfigError(f"'from' must hold exactly one sender address, like SOC <soc@example.org>. {WHERE}")
    name, address = pairs[0]
    try:
        address = parse_address(address)
    except AddressError as bad:
        raise ConfigError(f"'from' is not a usable sender address: {bad}. {WHERE}") from None
    return printable(name), address


def _printable(text: str | None) -> str | None:
    """A text that goes into the messages, fit for them once and for all (feedback/case.py `printable`)."""
    return None if text is None else printable(text)


def _thehive(items: Items, parameters: object, cacerts: str | None, timeout: float) -> TheHiveSettings | None:
    url = items.text("thehive_url")
    if not url:
        return None
    if not _is_url(url, ("https", "http")):
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
        proxies=_proxies(items),
        timeout=timeout,
        cacerts=cacerts,
    )


def _oauth(items: Items, user: str | None) -> OAuthSettings:
    """The client-credentials grant for smtp_auth 'oauth2': every item it needs, or an error naming the missing."""
    needed = {
        "smtp_user": user,
        "oauth_token_url": items.text("oauth_token_url"),
        "oauth_client_id": items.text("oauth_client_id"),
        "oauth_client_secret": items.text("oauth_client_secret", secret=True),
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise ConfigError(
            f"smtp_auth is 'oauth2' but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} empty:"
            " the responder needs the token endpoint, the app's client ID and secret, and in smtp_user the mailbox"
            f" it sends as. It never falls back to a password or to no login. {WHERE}"
        )
    if not (user.isascii() and user.isprintable()):
        raise ConfigError(f"smtp_user must be the mailbox's address in ASCII for smtp_auth 'oauth2'. {WHERE}")
    if not _is_url(needed["oauth_token_url"], ("https",)):
        raise ConfigError(
            "oauth_token_url must be an https URL like"
            f" https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token. {WHERE}"
        )
    return OAuthSettings(
        token_url=needed["oauth_token_url"],
        client_id=needed["oauth_client_id"],
        client_secret=needed["oauth_client_secret"],
        scope=items.text("oauth_scope", OAUTH_SCOPE),
        proxies=_proxies(items),
    )


def _is_url(url: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in schemes and bool(parts.hostname) and parts.port != 0
    except ValueError:
        return False


def _proxies(items: Items) -> dict[str, str]:
    """Cortex sends `proxy: {http, https}` when a proxy is set, and `proxy_http`/`proxy_https` always."""
    proxy = items.raw.get("proxy")
    if not isinstance(proxy, dict):
        proxy = {"http": items.raw.get("proxy_http"), "https": items.raw.get("proxy_https")}
    return {k: v for k, v in proxy.items() if k in ("http", "https") and isinstance(v, str) and v}
