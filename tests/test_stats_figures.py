"""The statistics' figures as a SOC manager reads them: the window's edges, an empty window, the top list's length,
the feedback table and the page's time to feedback, the charts' axes and textures."""

from __future__ import annotations

import csv
import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from feedback.errors import CommandError
from feedback.stats import charts, files
from feedback.stats.decoding import page_decoded
from feedback.stats.facts import case_facts
from feedback.stats.output import as_text, csv_texts
from feedback.stats.page import page
from feedback.stats.tables import duration
from feedback.stats.tally import Tally
from testkit.report_cases import DAY, START, case, read_json
from testkit.thehive_cases import CaseSearch

SCRIPT = Path(__file__).resolve().parent.parent / "PhishFeedback" / "thehive_stats.py"
BOB = "bob@example.org"
BASE = {"_id": "~1", "title": "Phishing report: x", "_createdAt": 1767225600000}  # 2026-01-01 00:00 UTC


def tallied(*cases: dict, top: int = 1000) -> dict:
    tally = Tally()
    for one in cases:
        tally.add(case_facts({**BASE, **one}, "phishFeedback", "Phishing report"))
    return {**tally.result(top), "thehive": 5}


def spam_case(tags: list[str]) -> dict:
    return {"tags": tags, "customFieldValues": {"phishFeedback": "Spam"}}


def told_after(minutes: list[float]) -> dict:
    """One Spam case whose reporters were each told so many minutes after it was made (2026-01-01 00:00 UTC)."""
    tags = []
    for number, minute in enumerate(minutes):
        address = f"r{number}@example.org"
        when = (datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
        tags += [f"user_email:{address}", f"feedback_sent:{address}", f"feedback_verdict:{when};Spam;{address}"]
    return spam_case(tags)


# The window asked for


def test_a_window_of_one_day_counts_that_days_cases(thehive_https, stats):
    day = START + 31 * DAY  # 2026-02-01
    reports = [case(n, "Spam", [f"r{n}@example.org"], created=day + n * 3600_000) for n in range(3)]
    reports.append(case(9, "Spam", ["late@example.org"], created=day + DAY + 60_000))
    hive = CaseSearch(thehive_https, "5", reports)

    got = read_json(stats(hive.url, "--json", "--since", "2026-02-01", "--until", "2026-02-01"))

    assert (got["cases"], got["reports"]) == (3, 3)


def test_a_case_made_in_the_last_second_of_until_is_counted(thehive_https, stats):
    last_second = START + 32 * DAY - 1000  # 2026-02-01 23:59:59 UTC
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"], created=last_second)])

    got = read_json(stats(hive.url, "--json", "--since", "2026-02-01", "--until", "2026-02-01"))

    assert got["cases"] == 1


def test_a_case_thehive_returns_from_the_midnight_after_until_is_not_counted(thehive_https, stats):
    """A TheHive or a proxy whose filter lets a case through: the window is checked again on each case."""
    midnight = START + 32 * DAY  # 2026-02-02 00:00 UTC, the first moment after --until 2026-02-01
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"]), case(2, "Spam", [BOB])])
    hive.cases[1]["_createdAt"] = float(midnight)  # a time of another type: the loopback filter lets it pass

    got = read_json(stats(hive.url, "--json", "--until", "2026-02-01"))

    assert (got["cases"], [r["address"] for r in got["top_reporters"]]) == (1, ["alice@example.org"])


# The top reporters


def test_the_top_list_shows_twenty_reporters_unless_told(thehive_https, stats):
    reporters = [f"employee{n:02d}@example.org" for n in range(25)]
    hive = CaseSearch(thehive_https, "5", [case(1, "Phishing", reporters)])

    got = read_json(stats(hive.url, "--json"))

    assert got["reporters"] == 25
    assert [r["address"] for r in got["top_reporters"]] == reporters[:20]


def test_top_zero_lists_no_reporter_and_still_counts_them_all():
    got = tallied(spam_case(["user_email:a@example.org", "user_email:b@example.org"]), top=0)

    assert (got["reporters"], got["top_reporters"]) == (2, [])


# Feedback


@pytest.mark.parametrize(("minutes", "p90_minutes"), [([1, 2, 3, 4, 5], 5), (list(range(1, 26)), 23)])
def test_the_90th_percentile_of_a_few_reports_is_within_the_last_of_the_nine_in_ten(minutes, p90_minutes):
    """Nearest rank: of five reports, nine in ten (4.5) means all five; of 25 (22.5), the 23rd."""
    feedback = tallied(told_after(minutes[::-1]))["feedback"]

    assert feedback["p90_seconds"] == p90_minutes * 60


def test_a_report_answered_on_a_bound_of_hours_or_days_counts_in_the_class_that_bound_begins():
    hour, day = 60, 24 * 60
    minutes = [4 * hour - 1, 4 * hour, day - 1, day, 3 * day - 1, 3 * day, 7 * day - 1, 7 * day]

    distribution = tallied(told_after(minutes))["feedback"]["distribution"]

    assert [(d["within"], d["reports"]) for d in distribution] == [
        ("under 15 min", 0),
        ("15-60 min", 0),
        ("1-4 h", 1),
        ("4-24 h", 2),
        ("1-3 days", 2),
        ("3-7 days", 2),
        ("over 7 days", 1),
    ]


def test_a_message_recorded_minutes_before_the_case_was_made_counts_as_at_once():
    """Another host's clock a little behind the case's: the time is never less than nothing, nor drags the median
    below."""
    tags = ["user_email:a@example.org", "feedback_verdict:2025-12-31T23:57:00Z;Spam;a@example.org"]
    tags += ["user_email:b@example.org", "feedback_verdict:2026-01-01T00:02:00Z;Spam;b@example.org"]

    feedback = tallied(spam_case(tags))["feedback"]

    assert (feedback["measured"], feedback["median_seconds"], feedback["p90_seconds"]) == (2, 60, 120)


@pytest.mark.parametrize(("before", "measured"), [(300, 1), (301, 0)], ids=["five-minutes-before", "a-second-longer"])
def test_a_message_up_to_five_minutes_before_the_case_was_made_counts_as_at_once_and_no_longer(before, measured):
    """docs/statistics.md: up to 5 minutes before the case's start is two clocks apart; longer before tells no time."""
    when = datetime(2026, 1, 1, tzinfo=timezone.utc) - timedelta(seconds=before)
    tags = ["user_email:a@example.org", f"feedback_verdict:{when:%Y-%m-%dT%H:%M:%SZ};Spam;a@example.org"]

    feedback = tallied(spam_case(tags))["feedback"]

    assert (feedback["answered"], feedback["measured"]) == (1, measured)
    assert feedback["median_seconds"] == (0 if measured else None)


def test_an_acknowledgement_recorded_minutes_before_the_case_was_made_counts_as_at_once():
    """As a verdict message does: another host's clock a little behind the case's never makes a time less than
    nothing, nor drags the acknowledgement's median below."""
    tags = ["user_email:a@example.org", "feedback_ack_at:2025-12-31T23:57:00Z;a@example.org"]
    tags += ["user_email:b@example.org", "feedback_ack_at:2026-01-01T00:02:00Z;b@example.org"]

    feedback = tallied(spam_case(tags))["feedback"]

    assert (feedback["ack_measured"], feedback["ack_median_seconds"], feedback["ack_p90_seconds"]) == (2, 60, 120)


def test_a_message_recorded_long_before_the_case_was_made_is_answered_but_not_timed():
    """Sent on the alert before TheHive 4 made the case from it, whose v0 shape does not say when the alert came:
    it was counted as answered at once, and an acknowledgement on every alert made the median 0 s."""
    tags = ["user_email:a@example.org", "feedback_verdict:2025-12-31T21:00:00Z;Spam;a@example.org"]
    tags += ["feedback_ack_at:2025-12-31T20:05:00Z;a@example.org"]
    tags += ["user_email:b@example.org", "feedback_verdict:2026-01-01T00:02:00Z;Spam;b@example.org"]

    feedback = tallied(spam_case(tags))["feedback"]

    assert (feedback["answered"], feedback["measured"], feedback["median_seconds"]) == (2, 1, 120)
    assert (feedback["acknowledged"], feedback["ack_measured"], feedback["ack_median_seconds"]) == (1, 0, None)
    assert feedback["distribution"][0] == {"within": "under 15 min", "reports": 1}


def test_a_reporter_whose_case_holds_only_the_timed_acknowledgement_is_acknowledged():
    tags = ["user_email:a@example.org", "feedback_ack_at:2026-01-01T00:05:00Z;a@example.org"]

    feedback = tallied(spam_case(tags))["feedback"]

    assert (feedback["acknowledged"], feedback["ack_measured"], feedback["ack_median_seconds"]) == (1, 1, 300)


def test_a_record_the_responder_would_not_read_as_a_verdict_message_tells_no_time():
    """A record dated by a clock far ahead put 73 years into the 90th percentile, and a hand's record naming no
    verdict stood as the first verdict message; the responder passes both over."""
    tags = ["user_email:a@example.org", "feedback_sent:a@example.org"]
    tags += ["feedback_verdict:2026-01-01T00:01:00Z;see ticket;a@example.org"]
    tags += ["feedback_verdict:2026-01-01T00:30:00Z;Spam;a@example.org"]
    tags += ["user_email:b@example.org", "feedback_verdict:2099-01-01T00:00:00Z;Spam;b@example.org"]

    feedback = tallied(spam_case(tags))["feedback"]

    assert (feedback["answered"], feedback["measured"]) == (2, 1)
    assert (feedback["median_seconds"], feedback["p90_seconds"]) == (1800, 1800)


@pytest.mark.parametrize("ahead_first", [True, False], ids=["dated-ahead-listed-first", "listed-last"])
def test_a_reporter_with_a_record_dated_by_a_clock_far_ahead_is_answered_and_not_timed(ahead_first):
    """The responder reads the record dated ahead as older than any other, and corrects from it: which of the
    reporter's messages came first, TheHive's tags (kept in no order) cannot say. The other record was timed."""
    ahead = ["feedback_verdict:2099-01-01T00:00:00Z;Legit email;a@example.org"]
    ahead += ["feedback_ack_at:2099-01-01T00:00:00Z;a@example.org"]
    dated = ["feedback_verdict:2026-01-01T01:00:00Z;Spam;a@example.org"]
    dated += ["feedback_ack_at:2026-01-01T00:10:00Z;a@example.org"]
    records = ahead + dated if ahead_first else dated + ahead
    tags = ["user_email:a@example.org", "feedback_sent:a@example.org", *records]

    feedback = tallied(spam_case(tags))["feedback"]

    assert (feedback["answered"], feedback["measured"], feedback["median_seconds"]) == (1, 0, None)
    assert (feedback["acknowledged"], feedback["ack_measured"]) == (1, 0)


def test_a_reporter_named_only_by_a_record_naming_no_verdict_is_answered_and_not_timed():
    """The record names the reporter, as docs/statistics.md counts an answer; its text tells no verdict message, so no
    time (a hand's record, which the responder passes over)."""
    tags = ["user_email:a@example.org", "feedback_verdict:2026-01-01T00:10:00Z;see ticket;a@example.org"]

    feedback = tallied(spam_case(tags))["feedback"]

    assert (feedback["answered"], feedback["unanswered"], feedback["measured"]) == (1, 0, 0)


def test_a_record_a_hand_retyped_with_spaces_after_its_separators_still_names_and_times_its_reporter():
    """The responder reads `; Spam; a@example.org` as the record it wrote (tests/test_corrections.py): so do the
    statistics, for the verdict message and the acknowledgement alike."""
    tags = ["user_email:a@example.org", "feedback_verdict:2026-01-01T00:10:00Z; Spam; a@example.org"]
    tags += ["feedback_ack_at:2026-01-01T00:05:00Z; a@example.org"]

    feedback = tallied(spam_case(tags))["feedback"]

    assert (feedback["answered"], feedback["measured"], feedback["median_seconds"]) == (1, 1, 600)
    assert (feedback["acknowledged"], feedback["ack_measured"], feedback["ack_median_seconds"]) == (1, 1, 300)


@pytest.mark.parametrize(
    ("ahead", "measured"),
    [(timedelta(minutes=10), 1), (timedelta(hours=2), 0)],
    ids=["minutes-ahead-of-the-read", "hours-ahead-of-the-read"],
)
def test_a_record_dated_ahead_of_the_read_tells_a_time_unless_more_than_an_hour_ahead(ahead, measured):
    """An hour is as far as two hosts' clocks may be apart, as the responder allows (CLOCKS_APART): a record dated
    within it is read as it stands; one dated later came from a clock far ahead."""
    now = datetime.now(timezone.utc)
    when = f"{now + ahead:%Y-%m-%dT%H:%M:%SZ}"
    tags = ["user_email:a@example.org", f"feedback_verdict:{when};Spam;a@example.org"]
    tags += [f"feedback_ack_at:{when};a@example.org"]
    made = int((now - timedelta(days=1)).timestamp()) * 1000

    feedback = tallied({**spam_case(tags), "_createdAt": made})["feedback"]

    assert (feedback["answered"], feedback["measured"]) == (1, measured)
    assert (feedback["acknowledged"], feedback["ack_measured"]) == (1, measured)


def test_a_case_whose_alert_date_is_unset_is_timed_from_the_alerts_next_time():
    """TheHive 5 names an alert's times one by one: an `alertDate` of null left the case timed from its creation."""
    tags = ["user_email:a@example.org", "feedback_verdict:2026-01-01T00:10:00Z;Spam;a@example.org"]
    alerted = 1767225600000 - 20 * 60_000  # 20 min before the case

    feedback = tallied({**spam_case(tags), "alertDate": None, "alertNewDate": alerted})["feedback"]

    assert feedback["median_seconds"] == 30 * 60


def test_messages_sent_on_the_alert_before_its_case_was_made_are_timed_from_the_alert():
    """TheHive 5 says when the alert came: the verdict message and the acknowledgement sent on it, ten and two
    minutes before the case was made, are timed from the alert, not taken for messages older than the case."""
    tags = ["user_email:a@example.org", "feedback_verdict:2025-12-31T23:50:00Z;Spam;a@example.org"]
    tags += ["feedback_ack_at:2025-12-31T23:42:00Z;a@example.org"]
    alerted = 1767225600000 - 20 * 60_000  # 20 min before the case

    feedback = tallied({**spam_case(tags), "alertDate": alerted})["feedback"]

    assert (feedback["measured"], feedback["median_seconds"]) == (1, 10 * 60)
    assert (feedback["ack_measured"], feedback["ack_median_seconds"]) == (1, 2 * 60)


def test_a_half_is_rounded_up_as_a_reader_rounds_it():
    """Python's `round` takes a half to the even: a median of 2.5 s read 2 s, and 150 s read "2 min", as 90 s did."""
    feedback = tallied(told_after([2 / 60, 3 / 60]))["feedback"]

    assert feedback["median_seconds"] == 3
    assert (duration(90), duration(150), duration(210)) == ("2 min", "3 min", "4 min")
    assert (duration(4500), duration(18900), duration(108000)) == ("1.3 h", "5.3 h", "1.3 days")


def test_a_report_answered_two_and_a_half_seconds_after_its_case_is_timed_three():
    """The record's time is in whole seconds, the case's creation in milliseconds: a report's own time takes its half
    second up too, as the median does."""
    feedback = tallied({**told_after([3 / 60]), "_createdAt": BASE["_createdAt"] + 500})["feedback"]

    assert (feedback["median_seconds"], feedback["p90_seconds"]) == (3, 3)


def test_a_report_answered_less_than_two_and_a_half_seconds_after_its_case_is_timed_two():
    """Half up, not up: the case made 0.8 s into its second, the record dated 3 s later tells 2.2 s, timed 2."""
    feedback = tallied({**told_after([3 / 60]), "_createdAt": BASE["_createdAt"] + 800})["feedback"]

    assert (feedback["median_seconds"], feedback["p90_seconds"]) == (2, 2)


def test_an_acknowledgement_two_and_a_half_seconds_after_its_case_is_timed_three():
    """The acknowledgement's time takes its half second up, as the verdict message's does."""
    tags = ["user_email:a@example.org", "feedback_ack_at:2026-01-01T00:00:03Z;a@example.org"]

    feedback = tallied({**spam_case(tags), "_createdAt": BASE["_createdAt"] + 500})["feedback"]

    assert (feedback["ack_median_seconds"], feedback["ack_p90_seconds"]) == (3, 3)


def test_the_feedback_table_says_each_figure_of_the_json(thehive_https, stats, tmp_path):
    created = (START + 3 * DAY) // 1000
    reporters = [f"r{n}@example.org" for n in range(6)]
    told = dict(zip(reporters, (created + 60, created + 240, created + 600, created + 960)))
    acked = {address: created + 10 * (n + 1) ** 2 for n, address in enumerate(reporters)}
    hive = CaseSearch(thehive_https, "5", [case(3, "Phishing", reporters, told=told, sent=reporters[4:5], acked=acked)])

    got = read_json(stats(hive.url, "--json", "--csv", str(tmp_path / "csv")))

    feedback = got["feedback"]
    assert (feedback["median_seconds"], feedback["p90_seconds"]) == (420, 960)
    assert (feedback["measured"], feedback["ack_measured"]) == (4, 6)
    assert (feedback["ack_median_seconds"], feedback["ack_p90_seconds"]) == (125, 360)
    [header, *rows] = csv.reader((tmp_path / "csv" / "feedback.csv").open(encoding="utf-8"))
    assert header == ["measure", "value", "seconds"]
    assert {measure: (value, seconds) for measure, value, seconds in rows} == {
        "reports on cases with a verdict, answered": ("5", ""),
        "reports on cases with a verdict, not yet answered": ("1", ""),
        "answered with the time recorded": ("4", ""),
        "time to the verdict, median": ("7 min", "420"),
        "time to the verdict, 90th percentile": ("16 min", "960"),
        "reports acknowledged": ("6", ""),
        "acknowledged with the time recorded": ("6", ""),
        "time to the acknowledgement, median": ("2 min", "125"),
        "time to the acknowledgement, 90th percentile": ("6 min", "360"),
    }, "each time in seconds too, which a spreadsheet sums and sorts"


def test_the_page_tells_the_feedbacks_median_90th_percentile_and_how_many_were_measured():
    stats = tallied(
        told_after([2, 4, 6, 8, 10, 20, 30, 40, 50, 300]),
        spam_case(["user_email:x@example.org", "feedback_sent:x@example.org"]),
    )

    html = page(stats, "2026-12-05 00:00 UTC")

    caption = "Median 15 min, 90th percentile 50 min, over 10 reports whose message has its time recorded."
    assert caption in re.sub(r"\s+", " ", html)


def test_the_pages_reports_per_month_chart_and_table_count_reports_not_cases():
    campaign = spam_case([f"user_email:r{n}@example.org" for n in range(7)])
    single = {**spam_case(["user_email:a@example.org"]), "_createdAt": 1769904000000}  # 2026-02-01

    html = page(tallied(campaign, single), "2026-12-05 00:00 UTC")

    chart = re.search(r'<svg viewBox[^>]*aria-label="Reports per month[^"]*".*?</svg>', html, re.S)[0]
    assert re.findall(r'<text class="total"[^>]*>(\d+)</text>', chart) == ["7", "1"]
    table = html.split(chart, 1)[1].split("</table>")[0]
    assert re.findall(r"<th[^>]*>([^<]*)</th>", table)[:2] == ["month", "reports"]
    assert re.findall(r"<tr><td>(2026-0\d)</td><td>(\d+)</td>", table) == [("2026-01", "7"), ("2026-02", "1")]


def test_the_page_writes_counts_past_a_thousand_with_separators_as_a_reader_takes_them_in():
    """12480 reads as 1248 at a glance; the page is read by people, the CSV files by programs, which keep the number."""
    campaign = spam_case([f"user_email:r{n}@example.org" for n in range(1250)])

    html = page(tallied(campaign), "2026-12-05 00:00 UTC")

    assert "<dt>Reports</dt><dd>1,250</dd>" in html
    chart = re.search(r'<svg viewBox[^>]*aria-label="Reports per month[^"]*".*?</svg>', html, re.S)[0]
    assert re.findall(r'<text class="total"[^>]*>([\d,]+)</text>', chart) == ["1,250"]
    assert "<tr><td>2026-01</td><td>1,250</td>" in html


def test_the_text_tables_write_counts_with_separators_and_the_csv_files_the_bare_number(tmp_path):
    campaign = spam_case([f"user_email:r{n}@example.org" for n in range(1250)])
    stats = tallied(campaign)

    assert re.search(r"^2026-01 +1,250 +0 +1,250 +0 +0 +0$", as_text(stats), re.M), as_text(stats)
    reports = csv_texts(stats, str(tmp_path))[str(tmp_path / "month_reports.csv")]
    assert "2026-01,1250,0,1250,0,0,0" in reports.splitlines()


def test_the_tallest_bar_stays_under_the_top_of_its_axis():
    svg = charts.stacked_bars(["2026-01", "2026-02"], [[3, 4], [2, 0]], charts.patterns(2), "Reports")

    tops = [float(y) for y in re.findall(r'<rect x="[^"]+" y="([^"]+)"', svg)]
    ticks = [int(v) for v in re.findall(r'text-anchor="end">(\d+)</text>', svg)]
    assert min(tops) >= charts.TOP and max(ticks) >= 7


def test_every_bar_carries_its_total():
    svg = charts.stacked_bars(
        ["2026-01", "2026-02", "2026-03"], [[3, 4], [5, 0], [0, 1]], charts.patterns(2), "Reports"
    )

    assert re.findall(r'<text class="total"[^>]*>(\d+)</text>', svg) == ["7", "5", "1"]


def test_a_bar_of_one_value_carries_it_once_above_it():
    """The time to feedback's histogram: a number written inside its bar too would say each value twice."""
    svg = charts.stacked_bars(["under 15 min", "15-60 min"], [[30], [5]], ["#56B4E9"], "Time", height=280)

    assert re.findall(r'<text class="(inside|total)"[^>]*>(\d+)</text>', svg) == [("total", "30"), ("total", "5")]


def test_the_text_tables_begin_their_names_together_and_end_their_counts_together():
    """Read down a column as on paper: a name column aligned right, or counts aligned left, is hard to read."""
    stats = tallied(*[spam_case(["user_email:a@example.org"])] * 10, spam_case(["user_email:longer.name@example.org"]))

    header, _, *rows = as_text(stats).split("Top reporters\n")[1].strip().split("\n")[1:]

    end = header.index("reports") + len("reports")
    assert rows[0].startswith("a@example.org ") and rows[1].startswith("longer.name@example.org ")
    assert [row[end - 3 : end] for row in rows] == [" 10", "  1"]


def test_an_empty_top_list_says_none_in_the_text_and_across_the_pages_table():
    """--top 0, or a window with no case: the table's place says so rather than showing a header alone."""
    stats = tallied(spam_case(["user_email:a@example.org"]), top=0)

    text = as_text(stats).split("Top reporters\n")[1]
    html = page(stats, "2026-12-05 00:00 UTC")

    assert text.rstrip("\n").split("\n")[-1] == "(none)"
    top = html.split("Top reporters</caption>")[1].split("</table>")[0]
    columns = top.count('<th scope="col">')
    assert f'<tr><td colspan="{columns}">none</td></tr>' in top


def test_each_verdict_has_a_texture_of_its_own_for_grey_print():
    verdicts = ["Phishing", "Spam", "Legit email", "Simulation", "Undecided", "none"]

    patterns = re.findall(r'<pattern id="v\d+"[^>]*><rect [^>]*/>(.*?)</pattern>', charts.defs(verdicts))

    assert len(patterns) == len(set(patterns)) == len(verdicts)


def test_a_custom_field_named_in_other_capitals_is_said_with_the_fields_own_spelling(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    result = stats(hive.url, "--custom-field", "PHISHFEEDBACK")

    assert result.returncode == 1
    assert "has no custom field 'PHISHFEEDBACK'. Did you mean 'phishFeedback'?" in result.stderr


def test_the_json_names_the_days_asked_for(thehive_https, stats):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    got = read_json(stats(hive.url, "--json", "--since", "2026-01-01", "--until", "2026-06-30"))

    assert got["window"] == {"since": "2026-01-01", "until": "2026-06-30"}


def test_a_page_named_as_an_existing_folder_is_refused_before_the_read(thehive_https, stats, tmp_path):
    hive = CaseSearch(thehive_https, "5", [case(1, "Spam", ["alice@example.org"])])

    result = stats(hive.url, "--html", str(tmp_path))

    assert result.returncode == 1
    assert f"{tmp_path} cannot be written (Is a directory)." in result.stderr
    assert hive.requests == []


def test_a_verdict_given_only_in_the_flat_field_values_is_read_from_a_decoded_page():
    """TheHive 5's `customFieldValues`, alone: the page decoder keeps it as the readers find it."""
    body = json.dumps([{**BASE, **spam_case(["user_email:a@example.org"])}]).encode()

    [decoded] = page_decoded(body)

    assert case_facts(decoded, "phishFeedback", "Phishing report").verdict == "Spam"


def test_a_file_that_cannot_be_moved_into_place_after_others_were_names_those_written(tmp_path, monkeypatch):
    """A folder made where the page goes between the check and the move (the tables are in place by then)."""
    table, other, page_path = (
        tmp_path / "csv" / "totals.csv",
        tmp_path / "csv" / "verdicts.csv",
        tmp_path / "report.html",
    )
    real_replace = os.replace

    def replace(source: str, target: str) -> None:
        if target == str(page_path):
            page_path.mkdir()
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(CommandError) as failure:
        files.write({str(table): "measure,value\n", str(other): "verdict,cases\n", str(page_path): "<html></html>"})

    assert str(failure.value) == f"{page_path} cannot be written (Is a directory); written before it: {table}, {other}."
    assert (table.read_text(), other.read_text()) == ("measure,value\n", "verdict,cases\n")
    assert [path.name for path in tmp_path.rglob(".*.part")] == []
