"""The statistics written out: a readable table, one JSON object, or a CSV file's text per table."""

from __future__ import annotations

import csv
import io
import json
import os
import re

from feedback.redaction import scrub
from feedback.stats.tables import Table, shown, tables
from feedback.thehive.admin_api import terminal_safe

# A cell a spreadsheet would run as a formula; addresses come from cases, so such a cell is quoted with "'".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# After the separator, what a spreadsheet skips before a cell's text: white space, and the csv module's own quotes.
_FORMULA_AFTER_SEPARATOR = re.compile(r'([;,\t][\s"]*)(?=[=+\-@])')


def as_text(stats: dict) -> str:
    """The tables for a terminal: a case's text (an address, a verdict) cannot move the cursor or recolour it."""
    return "\n\n".join(map(_text_table, tables(stats))) + "\n"


def as_json(stats: dict) -> str:
    """In ASCII: a case's text may hold characters that reorder or hide what a terminal shows (U+202E)."""
    return json.dumps(stats, indent=2) + "\n"


def csv_texts(stats: dict, folder: str) -> dict[str, str]:
    """One CSV file's text per table, by its path in `folder`."""
    texts = {}
    for table in tables(stats):
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow([_cell(name) for name in table.header])  # a verdict as written heads a column
        writer.writerows([_cell(value) for value in row] for row in table.rows)
        texts[os.path.join(folder, f"{table.name}.csv")] = text.getvalue()
    return texts


def _cell(value: object) -> object:
    """The value, quoted where a spreadsheet would run it; a lone "-" (nothing measured) runs nothing.

    Also after each ';', ',' or tab within it: a spreadsheet that splits on another separator than the file's (Excel
    in French, German, Dutch or Spanish splits on ';') would make what follows a cell of its own.
    """
    if not isinstance(value, str) or value == "-":
        return value
    value = _FORMULA_AFTER_SEPARATOR.sub(r"\1'", scrub(value))  # a file, as the output streams, shows no secret
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _text_table(table: Table) -> str:
    # Escaped before they are measured: a column lines up as the terminal shows it.
    cells = [[terminal_safe(shown(value)) for value in row] for row in (table.header, *table.rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.header))]
    lines = [table.title, "-" * len(table.title)]
    for number, row in enumerate(cells):
        lines.append(
            "  ".join(
                value.ljust(width) if i == 0 else value.rjust(width)
                for i, (value, width) in enumerate(zip(row, widths))
            ).rstrip()
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    if not table.rows:
        lines.append("(none)")
    if table.note:
        lines.append(terminal_safe(table.note))
    return "\n".join(lines)
