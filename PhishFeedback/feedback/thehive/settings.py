"""TheHive's items of the configuration: where its API is, the key, the organisation, which API to speak."""

from __future__ import annotations

from urllib.parse import urlsplit

from feedback.items import WHERE, ConfigError, Items, is_url, refuse_cleartext
from feedback.redaction import without_secrets
from feedback.shapes import shape

THEHIVE_APIS = ("auto", "v1", "legacy")


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


def thehive_settings(items: Items, parameters: object, cacerts: str | None, timeout: float) -> TheHiveSettings | None:
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
    refuse_cleartext("thehive_url", url, "the API key (thehive_apikey)")
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
