"""The statistics as one self-contained HTML page: no script, nothing fetched, so it opens offline and can be mailed.

The page is PhishFeedback/templates/stats/page.html; every value that enters it is escaped here, and
the charts come from charts.py as inline SVG.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from html import escape
from string import Template

from feedback.stats import charts
from feedback.stats.tables import Table, duration, period, shown, tables, verdict_columns

PAGE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "templates", "stats", "page.html"
)
# The histogram's one colour, Okabe-Ito's sky blue: no verdict wears it, so it is not read as one.
HISTOGRAM = "#56B4E9"
# How many characters a table's row holds written across the page's 820 pixels, its headers and its widest name
# (an address) together: past it, the verdict columns' headers are turned on their side, so that a dozen columns, or
# values written freely in the field, fit the page as printed.
ACROSS = 80


def page(stats: dict, made: str) -> str:
    verdicts, _ = verdict_columns(stats)
    feedback = stats["feedback"]
    named = {table.name: table for table in tables(stats)}
    # The chart draws the table's rows: its series are the table's columns, OTHERS too, and so are its sums.
    months = named["month_reports"]
    first = len(months.header) - len(verdicts)
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
        months_table=_table(months, verdicts),
        median=escape(duration(feedback["median_seconds"])),
        p90=escape(duration(feedback["p90_seconds"])),
        measured=shown(feedback["measured"]),
        feedback_chart=charts.stacked_bars(
            [d["within"] for d in feedback["distribution"]],
            [[d["reports"]] for d in feedback["distribution"]],
            [HISTOGRAM],
            "Time to the verdict message: reports per class of time",
            height=280,
        ),
        feedback_table=_table(named["feedback"]),
        top_table=_table(named["top_reporters"], verdicts),
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


def _table(table: Table, verdicts: Collection[str] = ()) -> str:
    """The table; where its row would not fit written across (ACROSS), the headers of its verdict columns written on
    their side and cut at the page style's length, whole in their title (and in the chart's legend)."""
    widest = max([len(table.header[0]), *(len(str(row[0])) for row in table.rows)])
    across = widest + sum(len(str(cell)) + 2 for cell in table.header[1:])  # 2: a column's padding, in characters
    turned = set(verdicts) if across > ACROSS else set()
    head = "".join(
        f'<th scope="col" class="turned" title="{escape(cell)}"><span>{escape(cell)}</span></th>'
        if cell in turned
        else f'<th scope="col">{escape(str(cell))}</th>'
        for cell in table.header
    )
    rows = (
        "".join(
            f"<tr><td>{_breakable(escape(shown(row[0])))}</td>"
            + "".join(f"<td>{escape(shown(cell))}</td>" for cell in row[1:])
            + "</tr>"
            for row in table.rows
        )
        or f'<tr><td colspan="{len(table.header)}">none</td></tr>'
    )
    caption = f"<caption hidden>{escape(table.title)}</caption>"
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{note}"


def _breakable(text: str) -> str:
    """A row's name (an address) free to break after its @ and before its dots where its column is narrow, and
    nowhere else: whole, it keeps the column as wide as it needs."""
    return text.replace("@", "@<wbr>").replace(".", "<wbr>.")
