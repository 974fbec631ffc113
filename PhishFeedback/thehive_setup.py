#!/usr/bin/env python3
"""Creates TheHive's verdict custom field for Phish_Feedback, or adds the verdicts it lacks; run again at will.

    THEHIVE_APIKEY=<an admin's key> PhishFeedback/thehive_setup.py --url https://thehive.example.org

The key comes from the environment only: a command line shows in `ps` and in the shell's history.
See docs/thehive-setup.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit

from feedback.items import is_url
from feedback.redaction import ScrubbedStream, remember
from feedback.thehive.admin_api import STATUS, AdminApi
from feedback.thehive.dashboard import add_dashboard
from feedback.thehive.field_setup import ROUTES, SetupError, edition, plan, read_fields
from feedback.thehive.settings import TheHiveSettings

ENVIRONMENT_KEY = "THEHIVE_APIKEY"
TIMEOUT = 30.0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Create TheHive's verdict custom field for Phish_Feedback, or add the verdicts it lacks."
        f" The API key of a TheHive admin is read from the environment variable {ENVIRONMENT_KEY}.",
    )
    parser.add_argument("--url", required=True, help="TheHive's URL, e.g. https://thehive.example.org")
    parser.add_argument("--organisation", help="the organisation to act in, when the key's user has several")
    parser.add_argument("--cacerts", metavar="FILE", help="PEM file of the CA that signed TheHive's certificate")
    parser.add_argument(
        "--field", default="phishFeedback", help="the field's internal name, as in the custom_field item"
    )
    parser.add_argument(
        "--dashboard", action="store_true", help="also create the dashboard of reports per verdict (TheHive 4)"
    )
    return parser.parse_args()


def main() -> int:
    sys.stdout, sys.stderr = ScrubbedStream(sys.stdout), ScrubbedStream(sys.stderr)
    # Remembered first: a key typed on the command line by mistake comes back in argparse's complaint.
    apikey = os.environ.get(ENVIRONMENT_KEY, "").strip()
    remember(apikey)
    options = arguments()
    try:
        settings = _settings(options, apikey)
        print(set_up(settings, options.field))
        if options.dashboard:
            print(add_dashboard(settings, options.field))
    except SetupError as failure:
        print(f"thehive_setup: {failure}", file=sys.stderr)
        return 1
    return 0


def set_up(settings: TheHiveSettings, name: str) -> str:
    """Ask TheHive what it has, then make the one change the field needs, if any; what happened, in a sentence."""
    with AdminApi(settings) as api:
        major = edition(api.call("GET", STATUS))
        step = plan(read_fields(api.call("GET", ROUTES[major].list), major), major, name)
        if step.method:
            api.call(step.method, step.path, step.body)
    return f"TheHive {major} at {settings.url}: {step.said}"


def _settings(options: argparse.Namespace, apikey: str) -> TheHiveSettings:
    if not apikey:
        raise SetupError(f"Set the environment variable {ENVIRONMENT_KEY} to the API key of a TheHive admin.")
    url = options.url.rstrip("/")
    if not is_url(url, ("https", "http")) or "@" in urlsplit(url).netloc:
        raise SetupError(
            "--url must be TheHive's address like https://thehive.example.org, with no user or password in it"
            f" (the key comes from {ENVIRONMENT_KEY})."
        )
    return TheHiveSettings(
        url=url,
        apikey=apikey,
        organisation=options.organisation,
        api="auto",
        proxies={},
        timeout=TIMEOUT,
        cacerts=_pem(options.cacerts),
    )


def _pem(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="ascii") as file:
            pem = file.read()
    except (OSError, UnicodeDecodeError) as failure:
        raise SetupError(f"--cacerts {path} cannot be read ({failure.__class__.__name__}).") from None
    return pem


if __name__ == "__main__":
    sys.exit(main())
