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

from feedback.api_session import available
from feedback.items import cleartext_refusal, is_url
from feedback.redaction import ScrubbedStream, remember
from feedback.startup import run_in_own_environment
from feedback.thehive.admin_api import STATUS, AdminApi, terminal_safe
from feedback.thehive.field_setup import ROUTES, SetupError, edition, plan, read_fields
from feedback.thehive.settings import UNSENDABLE, TheHiveSettings, header_safe

ENVIRONMENT_KEY = "THEHIVE_APIKEY"
TIMEOUT = 30.0
# The whole command's time, whatever TheHive does; a reply trickled a byte at a time never trips TIMEOUT.
TIME_LIMIT = 120.0
LONGEST_LIMIT = 3600.0


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
        "--time-limit",
        type=_seconds,
        default=TIME_LIMIT,
        metavar="SECONDS",
        help=f"the longest the whole command may take, all calls to TheHive together (default {TIME_LIMIT:g})",
    )
    return parser.parse_args()


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= LONGEST_LIMIT:
        raise argparse.ArgumentTypeError(f"give a number of seconds from 1 to {LONGEST_LIMIT:g}")
    return seconds


def main() -> int:
    if not available():  # the system Python of a host where README installed the requirements into .venv
        run_in_own_environment(__file__)
    sys.stdout, sys.stderr = ScrubbedStream(sys.stdout), ScrubbedStream(sys.stderr)
    # Remembered first: a key typed on the command line by mistake comes back in argparse's complaint.
    apikey = os.environ.get(ENVIRONMENT_KEY, "").strip()
    remember(apikey)
    options = arguments()
    try:
        settings = _settings(options, apikey)
        print(terminal_safe(set_up(settings, options.field, options.time_limit)))
    except SetupError as failure:
        print(f"thehive_setup: {terminal_safe(str(failure))}", file=sys.stderr)
        return 1
    return 0


def set_up(settings: TheHiveSettings, name: str, limit: float) -> str:
    """Ask TheHive what it has, then make the one change the field needs, if any; what happened, in a sentence.

    The sentence may quote TheHive (a field's options): `terminal_safe` makes it fit to print.
    """
    with AdminApi(settings, limit) as api:
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
    refusal = cleartext_refusal("--url", url, f"the admin's API key ({ENVIRONMENT_KEY})")
    if refusal:
        raise SetupError(refusal)
    organisation = (options.organisation or "").strip() or None
    if not header_safe(apikey):
        raise SetupError(f"{ENVIRONMENT_KEY} {UNSENDABLE}: copy the key again from TheHive.")
    if organisation and not header_safe(organisation):
        raise SetupError(
            f"--organisation {UNSENDABLE}: run the command without it, with the key of a user of the admin"
            " organisation."
        )
    return TheHiveSettings(
        url=url,
        apikey=apikey,
        organisation=organisation,
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
