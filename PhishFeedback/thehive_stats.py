#!/usr/bin/env python3
"""The reporting programme in numbers: the phishing-report cases in TheHive, their verdicts and the feedback given.

    THEHIVE_APIKEY=<a key that may read the cases> PhishFeedback/thehive_stats.py --url https://thehive.example.org

The key comes from the environment only: a command line shows in `ps` and in the shell's history.
See docs/statistics.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from datetime import datetime, timezone

# A host's PYTHONSAFEPATH leaves this script's folder, where its package is, off the import path.
if getattr(sys.flags, "safe_path", False):
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from feedback.errors import CommandError
from feedback.redaction import scrub
from feedback.stats import files
from feedback.stats.output import as_json, as_text, csv_texts
from feedback.stats.page import page
from feedback.stats.progress import Progress
from feedback.stats.queries import WindowError, window
from feedback.stats.reading import CaseApi, statistics
from feedback.stats.tables import period
from feedback.thehive.admin_api import terminal_safe
from feedback.thehive.command_line import printed, settings_from_options, started, thehive_parser

# The whole read's time: 100,000 cases take minutes; a TheHive that trickles its answers never ends.
TIME_LIMIT = 3600.0


def arguments() -> argparse.Namespace:
    purpose = "Count the phishing reports in TheHive: cases, reporters, verdicts, and the feedback they were given."
    parser = thehive_parser(purpose, "of a user who may read the cases", TIME_LIMIT)
    # Stripped as the responder strips its item: a single space takes every title.
    parser.add_argument(
        "--title-prefix", default="Phishing report", type=str.strip, help="as the responder's title_prefix item"
    )
    parser.add_argument("--custom-field", default="phishFeedback", help="as the responder's custom_field item")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="first day of case creation counted (UTC)")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="last day of case creation counted (UTC), included")
    parser.add_argument("--top", type=_count, default=20, metavar="N", help="how many top reporters to list (20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    parser.add_argument("--csv", metavar="DIR", help="also write one CSV file per table into DIR")
    parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page with charts")
    return parser.parse_args()


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"'{text}' is no count: give a whole number, 0 or more")
    return int(text)


def main() -> int:
    options, apikey = started(__file__, arguments)
    progress = Progress(sys.stderr)
    try:
        span = window(options.since, options.until)
        files.check(options.csv, options.html)
        settings = settings_from_options(options, apikey, "a TheHive user who may read the cases")
        # A page's cases are dropped once counted, and what is kept (the counts) holds no cycle: the cyclic
        # collector would only walk every decoded case again, a sixth of the command's time.
        gc.disable()
        with CaseApi(settings, options.time_limit) as api:
            stats = statistics(api, options.custom_field, options.title_prefix, span, options.top, progress)
        progress.done()
        stats["window"] = {"since": options.since, "until": options.until}
        if not stats["cases"]:  # figures of zeros alone would read as a quiet quarter
            print(
                f"thehive_stats: no case created in this window ({period(stats['window'])}) has a title that"
                f" starts with '{terminal_safe(options.title_prefix)}': check --title-prefix (the responder's"
                " title_prefix), --since and --until.",
                file=sys.stderr,
            )
    except (CommandError, WindowError) as failure:
        return _failed(progress, failure)
    except KeyboardInterrupt:
        print("\nthehive_stats: stopped before the end of the read; nothing was counted.", file=sys.stderr)
        return 130
    failures = []
    try:
        for path in files.write(_files(stats, options)):
            print(f"thehive_stats: wrote {path}", file=sys.stderr)
    except CommandError as unwritten:  # the figures of an hour's read are printed all the same
        failures.append(unwritten)
    try:
        printed(as_json(stats) if options.json else as_text(stats))
    except CommandError as unprinted:  # and the files are written all the same
        failures.append(unprinted)
    for failure in failures:
        _failed(progress, failure)
    return 1 if failures else 0


def _failed(progress: Progress, failure: Exception) -> int:
    progress.cut()
    print(f"thehive_stats: {terminal_safe(str(failure))}", file=sys.stderr)
    return 1


def _files(stats: dict, options: argparse.Namespace) -> dict[str, str]:
    """The text of each file asked for, by its path."""
    texts = csv_texts(stats, options.csv) if options.csv else {}
    if options.html:
        made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        # Files, as the output streams, show no secret.
        texts[options.html] = scrub(page(stats, made))
    return texts


if __name__ == "__main__":
    sys.exit(main())
