"""The statistics as one self-contained HTML page: no script, nothing fetched, so it opens offline and can be mailed.

The page is PhishFeedback/templates/stats/page.html; every value that enters it is escaped here, and
the charts come from charts.py as inline SVG.
"""

from __future__ import annotations

import os
from html import escape
from string import Template

from feedback.stats import charts
from feedback.stats.tables import Table, duration, period, shown, tables, verdict_columns

PAGE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "templates", "stats", "page.html"
)
# The histogram's one colour, Okabe-Ito's sky blue: no verdict wears it, so it is not read as one.
HISTOGRAM = "#56B4E9"
# How many characters the verdict columns' headers may hold in all, written across: the four verdicts and "none" hold
# 37, and a few short values of the SOC's own fit beside them.
HEADERS_WIDE = 64


def page(stats: dict, made: str) -> str:
    verdicts, _ = verdict_columns(stats)
    feedback = stats["feedback"]
    named = {table.name: table for table in tables(stats)}
    # The chart draws the table's rows: its series are the table's columns, OTHERS too, and so are its sums.
    months = named["month_reports"]
    first = len(months.header) - len(verdicts)
    # Values written freely in the field may be sentences: past what a line of headers holds, every verdict column's
    # header is turned on its side, so that a dozen columns fit the page as printed.
    turned = set(verdicts) if sum(map(len, verdicts)) > HEADERS_WIDE else set()
    with open(PAGE, encoding="utf-8") as file:
        template = Template(file.read())
    return template.substitute(
        patterns=charts.defs(verdicts),
        period=escape(period(stats.get("window") or {})),
        thehive=escape(str(stats.get("thehive", ""))),
        made=escape(made),
        totals=_totals(stats),
        months_chart=charts.stacked_bars(
            [row[0] for row in months.rows],
            [list(row[first:]) for row in months.rows],
            charts.patterns(len(verdicts)),
            "Reports per month, stacked by verdict",
        ),
        legend=charts.legend(verdicts),
        months_table=_table(months, turned),
        median=escape(duration(feedback["median_seconds"])),
        p90=escape(duration(feedback["p90_seconds"])),
        measured=feedback["measured"],
        feedback_chart=charts.stacked_bars(
            [d["within"] for d in feedback["distribution"]],
            [[d["reports"]] for d in feedback["distribution"]],
            [HISTOGRAM],
            "Time to the verdict message: reports per class of time",
            height=280,
        ),
        feedback_table=_table(named["feedback"]),
        top_table=_table(named["top_reporters"], turned),
    )


def _totals(stats: dict) -> str:
    feedback = stats["feedback"]
    cards = (
        ("Cases", stats["cases"]),
        ("Reports", stats["reports"]),
        ("Reporters", stats["reporters"]),
        # What answered and not yet answered add up to: the reports whose case has one of the four verdicts.
        ("Reports with a verdict", feedback["answered"] + feedback["unanswered"]),
        ("Answered", feedback["answered"]),
        ("Not yet answered", feedback["unanswered"]),
        ("Median time to verdict", duration(feedback["median_seconds"])),
    )
    return "".join(f"<div><dt>{escape(name)}</dt><dd>{escape(shown(value))}</dd></div>" for name, value in cards)


def _table(table: Table, turned: set[str] = frozenset()) -> str:
    """The table, the headers among `turned` written on their side and cut at the page style's length, whole in their
    title (and in the chart's legend)."""
    head = "".join(
        f'<th scope="col" class="turned" title="{escape(cell)}"><span>{escape(cell)}</span></th>'
        if cell in turned
        else f'<th scope="col">{escape(str(cell))}</th>'
        for cell in table.header
    )
    rows = (
        "".join("<tr>" + "".join(f"<td>{escape(shown(cell))}</td>" for cell in row) + "</tr>" for row in table.rows)
        or f'<tr><td colspan="{len(table.header)}">none</td></tr>'
    )
    caption = f"<caption hidden>{escape(table.title)}</caption>"
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{note}"
