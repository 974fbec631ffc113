"""The verdict columns of the month and top-reporter tables as a SOC manager reads them: the four verdicts, the most
frequent other values, the rest summed in one column that the tables and the page say they fold; the verdicts table
and the JSON name every value."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from feedback.case import VERDICTS
from feedback.stats import charts
from feedback.stats.facts import case_facts
from feedback.stats.page import page
from feedback.stats.tables import Table, tables
from feedback.stats.tally import Tally
from testkit.report_cases import DAY, START, Report, case, read_json
from testkit.thehive_cases import CaseSearch

OTHERS = "other verdicts"  # the column that sums the values not shown on their own
SHOWN_OTHERS = 6  # how many other values keep a column of their own
# Ten values a playbook wrote, the n-th on n cases: the six on most cases keep their column, four are summed.
TICKETS = {f"Phishing - ticket {n:02d}": n for n in range(1, 11)}
SHOWN = [f"Phishing - ticket {n:02d}" for n in range(5, 11)]
FOLDED = [f"Phishing - ticket {n:02d}" for n in range(1, 5)]


def cases_of(counts: dict[str, int | None], extra: int = 0) -> list[Report]:
    """So many cases of each verdict, a day apart (three months or so), reported by four people in turn."""
    verdicts = [verdict for verdict, times in counts.items() for _ in range(times)] + ["Spam"] * 3 + [None] * extra
    return [case(n, verdict, [f"r{n % 4}@example.org"]) for n, verdict in enumerate(verdicts, 1)]


def tallied(verdicts: list[str]) -> dict:
    """The statistics of one case for each of these verdicts, in this order."""
    tally = Tally()
    for n, verdict in enumerate(verdicts):
        case = {"_id": f"~{n}", "title": "Phishing report: x", "_createdAt": 1767225600000 + n * 3600_000}
        case |= {"tags": [f"user_email:r{n}@example.org"], "customFieldValues": {"phishFeedback": verdict}}
        tally.add(case_facts(case, "phishFeedback", "Phishing report"))
    return {**tally.result(20), "thehive": 5}


def months(stats: dict) -> Table:
    return next(table for table in tables(stats) if table.name == "months")


def read_csv(folder: Path, name: str) -> tuple[list[str], list[list[str]]]:
    header, *body = csv.reader((folder / f"{name}.csv").open(encoding="utf-8"))
    return header, body


def test_many_distinct_verdicts_are_folded_into_one_column_with_the_right_totals(thehive_https, stats, tmp_path):
    hive = CaseSearch(thehive_https, "5", cases_of(TICKETS, extra=2))
    folder = tmp_path / "csv"

    got = read_json(stats(hive.url, "--json", "--csv", str(folder)))

    for name, leading, total, counts in (
        ("months", 3, "cases", "verdicts"),
        ("month_reports", 2, "reports", "report_verdicts"),
    ):
        header, body = read_csv(folder, name)
        assert header[leading:] == [*VERDICTS, *SHOWN, OTHERS, "none"]
        for row, month in zip(body, got["months"], strict=True):
            cells = dict(zip(header[leading:], map(int, row[leading:])))
            assert cells[OTHERS] == sum(month[counts].get(v, 0) for v in FOLDED)
            assert sum(cells.values()) == month[total] == int(row[header.index(total)])
    header, body = read_csv(folder, "top_reporters")
    for row, reporter in zip(body, got["top_reporters"], strict=True):
        cells = dict(zip(header[3:], map(int, row[3:])))
        assert cells[OTHERS] == sum(reporter["verdicts"].get(v, 0) for v in FOLDED)
        assert sum(cells.values()) == reporter["reports"]


def test_the_json_and_the_verdicts_table_name_every_value_the_other_tables_fold(thehive_https, stats, tmp_path):
    hive = CaseSearch(thehive_https, "5", cases_of(TICKETS))

    got = read_json(stats(hive.url, "--json", "--csv", str(tmp_path / "csv")))

    assert {v: got["verdicts"][v] for v in TICKETS} == TICKETS
    named = set().union(*(month["verdicts"] for month in got["months"]))
    assert named >= set(TICKETS) and OTHERS not in named
    assert {v: int(c) for v, c, _ in read_csv(tmp_path / "csv", "verdicts")[1] if v in TICKETS} == TICKETS


def test_the_tables_say_how_many_verdict_values_their_other_column_sums(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", cases_of(TICKETS))

    result = stats(hive.url)

    assert result.returncode == 0, result.stderr
    said = (
        "4 other verdict values are counted together under 'other verdicts': the Verdicts table of the text and"
        " verdicts.csv list each, as --json does."
    )
    tables = {table.split("\n", 1)[0]: table for table in result.stdout.strip().split("\n\n")}
    for title in ("Per month of the case's creation (cases by verdict)", "Reports per month by the case's verdict"):
        assert tables[title].endswith(f"\n{said}")
    assert tables["Top reporters"].endswith(f"\n{said}")
    assert said not in tables["Verdicts"] and all(v in tables["Verdicts"] for v in TICKETS)


def test_as_many_other_verdicts_as_the_tables_show_are_all_columns_and_nothing_is_said():
    values = [f"ticket {n}" for n in range(SHOWN_OTHERS)]

    shown = tables(tallied(values))

    assert months(tallied(values)).header[3:] == (*VERDICTS, *values, "none")
    assert all(OTHERS not in table.header and not table.note for table in shown)


def test_other_verdicts_on_as_many_cases_keep_their_columns_in_the_order_of_their_values_whatever_the_read():
    values = [f"ticket {n}" for n in range(SHOWN_OTHERS + 2)]

    headers = {months(tallied(order)).header for order in (values, values[::-1])}

    assert headers == {("month", "cases", "reports", *VERDICTS, *values[:SHOWN_OTHERS], OTHERS, "none")}


def test_a_verdict_written_as_the_other_columns_name_is_counted_in_that_one_column():
    stats = tallied([OTHERS, "Spam", OTHERS])

    table = months(stats)

    assert table.header.count(OTHERS) == 1
    assert dict(zip(table.header, table.rows[0]))[OTHERS] == 2
    assert table.note.startswith("1 other verdict value is counted together under 'other verdicts'")


def test_the_pages_chart_draws_the_other_column_and_the_page_says_how_many_values_it_sums():
    stats = tallied([f"ticket {n:02d}" for n in range(20)])

    html = page(stats, "2026-12-05 00:00 UTC")

    assert html.count("<pattern ") == len(VERDICTS) + SHOWN_OTHERS + 2
    legend = re.search(r'<ul class="legend">.*?</ul>', html, re.S)[0]
    assert re.findall(r"</svg>([^<]*)</li>", legend)[-2:] == [OTHERS, "none"]
    chart = re.search(r'<svg viewBox[^>]*aria-label="Reports per month[^"]*".*?</svg>', html, re.S)[0]
    assert re.findall(r'<text class="total"[^>]*>(\d+)</text>', chart) == ["20"]
    assert html.count("14 other verdict values are counted together under &#x27;other verdicts&#x27;") == 2


def test_the_other_column_wears_a_texture_no_value_shown_on_its_own_wears():
    verdicts = [*VERDICTS, "Undecided", OTHERS, "none"]

    patterns = re.findall(r'<pattern id="v\d+"[^>]*><rect [^>]*/>(.*?)</pattern>', charts.defs(verdicts))

    assert len(patterns) == len(set(patterns)) == len(verdicts)


def test_every_other_value_shown_on_its_own_wears_a_texture_of_its_own():
    """Each value in the chart is told by its texture, in grey print too, not by the legend's order alone."""
    verdicts = [*VERDICTS, *SHOWN, OTHERS, "none"]

    patterns = re.findall(r'<pattern id="v\d+"[^>]*><rect [^>]*/>(.*?)</pattern>', charts.defs(verdicts))

    assert len(patterns) == len(set(patterns)) == len(verdicts)


def test_the_output_stays_small_with_thousands_of_distinct_verdicts(thehive_https, stats, tmp_path):
    """A playbook's free text, a value per case over four years: the tables grew as cases times months."""
    span = 48 * 30 * DAY
    reports = [
        Report(n, START + n * span // 2000 // 1000 * 1000, "Phishing report: x", f"verdict {n:04d} " + "x" * 64, [who])
        for n, who in enumerate(f"r{n % 20}@example.org" for n in range(2000))
    ]
    hive = CaseSearch(thehive_https, "5", reports)

    result = stats(hive.url, "--csv", str(tmp_path / "csv"), "--html", str(tmp_path / "page.html"))

    assert result.returncode == 0, result.stderr
    csvs = sum(path.stat().st_size for path in (tmp_path / "csv").iterdir())
    assert len(result.stdout) < 400_000 and csvs < 300_000 and (tmp_path / "page.html").stat().st_size < 100_000
