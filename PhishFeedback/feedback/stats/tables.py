"""The statistics as tables, each a title, a header and rows: what the text, the CSV files and the page show."""

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


# Tables of counts by verdict: their name and title, the values a row starts with, and the key of its counts.
MONTHLY = (
    ("months", "Per month of the case's creation (cases by verdict)", ("month", "cases", "reports"), "verdicts"),
    ("month_reports", "Reports per month by the case's verdict", ("month", "reports"), "report_verdicts"),
)
TOP_REPORTERS = ("top_reporters", "Top reporters", ("address", "reports", "real"), "verdicts")


def by_verdict(
    name: str, title: str, leading: tuple[str, ...], counts: str, rows: list[dict], verdicts: list[str]
) -> Table:
    """A table whose rows are some of an object's values, then its count for each verdict."""
    cells = tuple((*(row[key] for key in leading), *(row[counts].get(v, 0) for v in verdicts)) for row in rows)
    return Table(name, title, (*leading, *verdicts), cells)


def tables(stats: dict) -> list[Table]:
    verdicts = verdict_columns(stats)
    feedback = stats["feedback"]
    return [
        Table(
            "totals",
            "Totals",
            ("measure", "value"),
            (("cases", stats["cases"]), ("reports", stats["reports"]), ("reporters", stats["reporters"])),
        ),
        Table(
            "verdicts",
            "Verdicts",
            ("verdict", "cases", "reports"),
            tuple((v, stats["verdicts"].get(v, 0), stats["report_verdicts"].get(v, 0)) for v in verdicts),
        ),
        *(by_verdict(*table, stats["months"], verdicts) for table in MONTHLY),
        Table(
            "feedback",
            "Feedback",
            ("measure", "value"),
            (
                ("reports answered", feedback["answered"]),
                ("reports not yet answered", feedback["unanswered"]),
                ("answered with the time recorded", feedback["measured"]),
                ("time to the verdict, median", duration(feedback["median_seconds"])),
                ("time to the verdict, 90th percentile", duration(feedback["p90_seconds"])),
                ("reports acknowledged", feedback["acknowledged"]),
                ("time to the acknowledgement, median", duration(feedback["ack_median_seconds"])),
                ("time to the acknowledgement, 90th percentile", duration(feedback["ack_p90_seconds"])),
            ),
        ),
        Table(
            "time_to_feedback",
            "Time to the verdict message",
            ("within", "reports"),
            tuple((d["within"], d["reports"]) for d in feedback["distribution"]),
        ),
        by_verdict(*TOP_REPORTERS, stats["top_reporters"], verdicts),
    ]


def verdict_columns(stats: dict) -> list[str]:
    """The four verdicts, any other value met, and NONE last."""
    others = [v for v in stats["verdicts"] if v not in VERDICTS and v != NONE]
    return [*VERDICTS, *others, NONE]


def duration(seconds: int | None) -> str:
    """A time an analyst reads at a glance: 45 s, 12 min, 3.5 h, 2.1 days; '-' where nothing was measured."""
    if seconds is None:
        return "-"
    # Each unit up to where it would round to the next one's first step (3570 s would read "60 min", not "1.0 h").
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3570:
        return f"{seconds / 60:.0f} min"
    if seconds < 86220:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
