"""The statistics as tables, each a title, a header, rows and a note: what the text, the CSV files and the page show.

The month and top-reporter tables show the four verdicts, the most frequent other values and NONE as columns, the
rest of the values summed in one: a playbook that writes free text in the field ("Phishing - ticket 1234") makes a
value per case, and a column for each grew the tables as cases times months (10,000 values over 120 months printed
200 MB). The verdicts table, like the JSON, names every value.
"""

from __future__ import annotations

from feedback.case import VERDICTS
from feedback.shapes import shape
from feedback.stats.facts import NONE


@shape
class Table:
    name: str  # the CSV file's name
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple, ...]
    note: str  # said under the table where it folds verdict values; "" where there is nothing to say


# Tables of counts by verdict: their name and title, the values a row starts with, and the key of its counts.
MONTHLY = (
    ("months", "Per month of the case's creation (cases by verdict)", ("month", "cases", "reports"), "verdicts"),
    ("month_reports", "Reports per month by the case's verdict", ("month", "reports"), "report_verdicts"),
)
TOP_REPORTERS = ("top_reporters", "Top reporters", ("address", "reports", "real"), "verdicts")
# The other values a table shows as columns of their own, the most frequent: with the four, NONE and OTHERS, a
# dozen columns, as wide as a terminal or a printed page takes.
SHOWN_OTHERS = 6
OTHERS = "other verdicts"  # the column that sums the values not shown; a value so written is summed there too


def by_verdict(
    name: str, title: str, leading: tuple[str, ...], counts: str, rows: list[dict], verdicts: list[str], note: str
) -> Table:
    """A table whose rows are some of an object's values, then its count for each verdict column: OTHERS sums
    every value that has no column of its own, so that a row's cells add up to its total."""
    own = set(verdicts) - {OTHERS}

    def cell(mix: dict[str, int], verdict: str) -> int:
        return sum(n for v, n in mix.items() if v not in own) if verdict == OTHERS else mix.get(verdict, 0)

    cells = tuple((*(row[key] for key in leading), *(cell(row[counts], v) for v in verdicts)) for row in rows)
    return Table(name, title, (*leading, *verdicts), cells, note)


def tables(stats: dict) -> list[Table]:
    verdicts, folded = verdict_columns(stats)
    note = _note(folded)
    feedback = stats["feedback"]
    return [
        Table(
            "totals",
            "Totals",
            ("measure", "value"),
            (
                ("period", period(stats.get("window") or {})),
                ("cases", stats["cases"]),
                ("reports", stats["reports"]),
                ("reporters", stats["reporters"]),
            ),
            "",
        ),
        Table(
            "verdicts",
            "Verdicts",
            ("verdict", "cases", "reports"),
            tuple((v, cases, stats["report_verdicts"].get(v, 0)) for v, cases in stats["verdicts"].items()),
            "",
        ),
        *(by_verdict(*table, stats["months"], verdicts, note) for table in MONTHLY),
        Table(
            "feedback",
            "Feedback",
            # A time as a reader takes it in (1.4 h), and in seconds, which a spreadsheet sums and sorts.
            ("measure", "value", "seconds"),
            (
                ("reports on cases with a verdict, answered", feedback["answered"], ""),
                ("reports on cases with a verdict, not yet answered", feedback["unanswered"], ""),
                ("answered with the time recorded", feedback["measured"], ""),
                _time("time to the verdict, median", feedback["median_seconds"]),
                _time("time to the verdict, 90th percentile", feedback["p90_seconds"]),
                ("reports acknowledged", feedback["acknowledged"], ""),
                ("acknowledged with the time recorded", feedback["ack_measured"], ""),
                _time("time to the acknowledgement, median", feedback["ack_median_seconds"]),
                _time("time to the acknowledgement, 90th percentile", feedback["ack_p90_seconds"]),
            ),
            "",
        ),
        Table(
            "time_to_feedback",
            "Time to the verdict message",
            ("within", "reports"),
            tuple((d["within"], d["reports"]) for d in feedback["distribution"]),
            "",
        ),
        by_verdict(*TOP_REPORTERS, stats["top_reporters"], verdicts, " ".join(filter(None, (_ties(stats), note)))),
    ]


def period(window: dict) -> str:
    """Which cases the figures count, said with them: a folder of CSV files from one quarter looks like another's."""
    since, until = window.get("since"), window.get("until")
    if since and until:
        return f"Cases created from {since} to {until}"
    if since:
        return f"Cases created from {since}"
    if until:
        return f"Cases created up to {until}"
    return "All cases"


def verdict_columns(stats: dict) -> tuple[list[str], int]:
    """The verdict columns of the month and top-reporter tables, and how many values OTHERS sums.

    The four verdicts; the SHOWN_OTHERS other values on most cases (on a tie, the first in the values' order, so
    that two runs over the same cases show the same columns), in the values' order as the verdicts table lists them;
    OTHERS where any value is left; NONE last.
    """
    counts = stats["verdicts"]
    others = [v for v in counts if v not in VERDICTS and v != NONE]
    ranked = sorted((v for v in others if v != OTHERS), key=lambda v: (-counts[v], v))
    shown = sorted(ranked[:SHOWN_OTHERS])
    folded = len(others) - len(shown)
    return [*VERDICTS, *shown, *([OTHERS] if folded else []), NONE], folded


def _ties(stats: dict) -> str:
    """What a list cut among equals must say, lest the reporters listed read as the only ones with that count."""
    tied = stats.get("top_reporters_tied_unlisted", 0)
    if not tied:
        return ""
    listed = stats["top_reporters"]
    return (
        f"{tied:,} more reporter(s) have {listed[-1]['reports']:,} report(s), as many as the last listed"
        f" (--top {len(listed) + tied} lists them)."
    )


def _note(folded: int) -> str:
    """What a SOC manager is told under a table whose OTHERS column sums values, and where each is counted."""
    if not folded:
        return ""
    values = "1 other verdict value is" if folded == 1 else f"{folded:,} other verdict values are"
    where = "the Verdicts table of the text and verdicts.csv list each, as --json does"
    return f"{values} counted together under '{OTHERS}': {where}."


def _time(measure: str, seconds: int | None) -> tuple[str, str, int | str]:
    return measure, duration(seconds), "" if seconds is None else seconds


def shown(value: object) -> str:
    """A cell as a person reads it: a count past a thousand with its separators, 12,480, which reads as 1248 at a
    glance without them (the CSV files and --json keep the bare number, for programs)."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def duration(seconds: int | None) -> str:
    """A time an analyst reads at a glance: 45 s, 12 min, 3.5 h, 2.1 days; '-' where nothing was measured."""
    if seconds is None:
        return "-"
    # Each unit up to where it would round to the next one's first step (3570 s would read "60 min", not "1.0 h").
    # Each rounded a half up, as a reader rounds it (150 s is 3 min, 90 s 2 min; 4,500 s 1.3 h), where Python's
    # format takes a half to the even.
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3570:
        return f"{(seconds + 30) // 60} min"
    if seconds < 86220:
        return f"{(seconds + 180) // 360 / 10:.1f} h"
    return f"{(seconds + 4320) // 8640 / 10:.1f} days"
