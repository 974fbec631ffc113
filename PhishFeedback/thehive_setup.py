#!/usr/bin/env python3
"""Creates TheHive's verdict custom field for Phish_Feedback, or adds the verdicts it lacks; run again at will.

    THEHIVE_APIKEY=<an admin's key> PhishFeedback/thehive_setup.py --url https://thehive.example.org

The key comes from the environment only: a command line shows in `ps` and in the shell's history.
See docs/thehive-setup.md.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

# A host's PYTHONSAFEPATH leaves this script's folder, where its package is, off the import path.
if getattr(sys.flags, "safe_path", False):
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from feedback.errors import CommandError
from feedback.thehive.admin_api import AdminApi, terminal_safe
from feedback.thehive.command_line import printed, settings_from_options, started, thehive_parser
from feedback.thehive.dashboard import add_dashboard
from feedback.thehive.field_setup import FIELD_NAME, NAMING, ROUTES, plan, read_fields
from feedback.thehive.settings import TheHiveSettings

# The whole command's time, whatever TheHive does; a reply trickled a byte at a time never trips a call's timeout.
TIME_LIMIT = 120.0
# Ctrl-C may come while a change is on its way: whether TheHive made it, a second run reads.
INTERRUPTED = (
    "stopped before it ended: run it again to see what TheHive has; it never makes the field or the dashboard twice."
)


def arguments() -> argparse.Namespace:
    purpose = "Create TheHive's verdict custom field for Phish_Feedback, or add the verdicts it lacks."
    parser = thehive_parser(purpose, "of a TheHive admin", TIME_LIMIT)
    parser.add_argument(
        "--field",
        default="phishFeedback",
        type=_field_name,
        help="the field's internal name, as in the custom_field item",
    )
    parser.add_argument(
        "--dashboard", action="store_true", help="also create the dashboard of reports per verdict (TheHive 4)"
    )
    return parser.parse_args()


def _field_name(text: str) -> str:
    if not re.fullmatch(FIELD_NAME, text):
        raise argparse.ArgumentTypeError(f"'{text}' is no field name: {NAMING} (like phishFeedback)")
    return text


def main() -> int:
    options, apikey = started(__file__, arguments)
    try:
        return _set_up(options, apikey)
    except KeyboardInterrupt:
        print(f"\nthehive_setup: {INTERRUPTED}", file=sys.stderr)
        return 130
    except CommandError as unprinted:  # what was done, which standard output could not take
        return _failed(str(unprinted))


def _set_up(options: argparse.Namespace, apikey: str) -> int:
    try:
        settings = settings_from_options(options, apikey, "a TheHive admin")
        end = time.monotonic() + options.time_limit
        said = set_up(settings, options.field, options.time_limit)
    except CommandError as failure:
        return _failed(str(failure))
    printed(terminal_safe(said) + "\n")
    if options.dashboard:
        try:
            said = add_dashboard(settings, options.field, options.time_limit, end)
        except CommandError as failure:
            # Its "Nothing was changed" speaks of the dashboard alone: the field's step above may have changed TheHive.
            return _failed(f"the custom field is set up, as said above; the dashboard was not created: {failure}")
        printed(terminal_safe(said) + "\n")
    return 0


def _failed(sentence: str) -> int:
    print(f"thehive_setup: {terminal_safe(sentence)}", file=sys.stderr)
    return 1


def set_up(settings: TheHiveSettings, name: str, limit: float) -> str:
    """Ask TheHive what it has, then make the one change the field needs, if any; what happened, in a sentence.

    The sentence may quote TheHive (a field's options): `terminal_safe` makes it fit to print.
    """
    with AdminApi(settings, limit) as api:
        major = api.edition()
        step = plan(read_fields(api.call("GET", ROUTES[major].list), major), major, name)
        if step.method:
            api.call(step.method, step.path, step.body)
    return f"TheHive {major} at {settings.url}: {step.said}"


if __name__ == "__main__":
    sys.exit(main())
