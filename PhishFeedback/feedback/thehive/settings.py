"""TheHive's items of the configuration: where its API is, the key, the organisation, which API to speak."""

from __future__ import annotations

from feedback.items import UNSENDABLE, WHERE, ConfigError, Items, header_safe, is_url, refuse_cleartext
from feedback.reach import Reach
from feedback.secret_forms import typed_url_credentials, without_secrets
from feedback.shapes import shape

THEHIVE_APIS = ("auto", "v1", "legacy")


@shape
class TheHiveSettings:
    url: str
    apikey: str
    organisation: str | None
    api: str
    reach: Reach

    __repr__ = without_secrets


def thehive_settings(items: Items, parameters: object, reach: Reach) -> TheHiveSettings | None:
    url = items.text("thehive_url")
    if not url:
        return None
    if typed_url_credentials(url):  # first: a password as typed, with a '/' or a space, makes it no URL at all
        raise ConfigError(
            "thehive_url holds a user name or password: remove them from the URL and put an API key in"
            f" thehive_apikey, which is kept out of every report. {WHERE}"
        )
    if not is_url(url, ("https", "http")):
        raise ConfigError(f"thehive_url must be a URL like https://thehive.example.org. {WHERE}")
    # A common first setting where TheHive shares Cortex's docker network (http://thehive:9000): the way on is said.
    refuse_cleartext(
        "thehive_url",
        url,
        "the API key (thehive_apikey)",
        " Give TheHive's https:// address, or empty thehive_url: the job then finds the reporters in the case's tags"
        " alone.",
    )
    apikey = items.text("thehive_apikey", secret=True)
    if not apikey:
        raise ConfigError(f"thehive_url is set but thehive_apikey is empty: TheHive needs an API key. {WHERE}")
    if not header_safe(apikey):
        raise ConfigError(f"thehive_apikey {UNSENDABLE}: copy the key again from TheHive. {WHERE}")
    job_organisation = parameters.get("organisation") if isinstance(parameters, dict) else None
    organisation = items.text("thehive_organisation") or (
        job_organisation if isinstance(job_organisation, str) else None
    )
    if organisation and not header_safe(organisation):
        raise ConfigError(
            f"The organisation {organisation!r:.80} {UNSENDABLE}: set thehive_organisation to a name TheHive knows in"
            f" Latin-1, or leave it empty for the default organisation of the key's user. {WHERE}"
        )
    return TheHiveSettings(
        url=url.rstrip("/"),
        apikey=apikey,
        organisation=organisation,
        api=items.choice("thehive_api", THEHIVE_APIS, "auto"),
        reach=reach,
    )
