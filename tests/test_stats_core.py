"""The statistics' pure part: one case read in every shape TheHive sends, any JSON taken without a fault, progress."""

from __future__ import annotations

import gc
import io
import json
import os
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback.stats.decoding import decoded, page_decoded
from feedback.stats.facts import case_facts
from feedback.stats.progress import Progress
from feedback.stats.tables import duration
from feedback.stats.tally import Tally
from feedback.tags import verdict_records

EXAMPLES = int(os.environ.get("PHISHFEEDBACK_EXAMPLES", "150"))
TIMED_RECORDS = (("feedback_verdict", "Spam;a@example.org"), ("feedback_ack_at", "a@example.org"))
BASE = {"_id": "~1", "title": "Phishing report: x", "_createdAt": 1767225600000, "tags": ["user_email:a@example.org"]}


@pytest.mark.parametrize(
    "fields",
    [
        {"customFields": {"phishFeedback": {"string": "Spam", "order": 0}}},
        {"customFields": [{"_id": "~9", "name": "phishFeedback", "type": "string", "value": "Spam", "order": 0}]},
        {"customFieldValues": {"phishFeedback": "Spam"}},
        {"customFieldValues": {"phishFeedback": ["spam "]}},
    ],
    ids=["v0-object", "v1-list", "flat", "flat-multi"],
)
def test_the_verdict_is_read_in_every_shape_thehive_sends(fields):
    assert case_facts({**BASE, **fields}, "phishFeedback", "Phishing report").verdict == "Spam"


def test_a_value_that_is_no_verdict_is_counted_as_written_and_an_unset_field_as_none():
    other = case_facts({**BASE, "customFieldValues": {"phishFeedback": "  Needs  review "}}, "phishFeedback", "P")
    unset = case_facts({**BASE, "customFields": {"phishFeedback": {"string": None}}}, "phishFeedback", "P")

    assert (other.verdict, unset.verdict) == ("Needs review", "none")


def test_a_reporter_the_responder_would_refuse_is_not_counted_though_lower_case_makes_it_ascii():
    """The Kelvin sign is 'k' in lower case: counted, the reporter would be one no job ever mails."""
    case = {**BASE, "tags": ["user_email:bob@example.org", "user_email:\u212aate@example.org"]}

    assert case_facts(case, "phishFeedback", "Phishing report").reporters == ("bob@example.org",)


@pytest.mark.parametrize(
    ("title", "counted"),
    [
        ("Malware: x", False),
        ("Weekly Phishing report digest", False),
        ("  phishing REPORT: x", True),
        ("[EXT] FW: Phishing report: x", True),
        ("RE: [Phishing report] x", True),
    ],
)
def test_a_case_is_a_report_where_the_responder_would_take_its_title(title, counted):
    assert (case_facts({**BASE, "title": title}, "phishFeedback", "Phishing report") is not None) == counted


@pytest.mark.parametrize(
    "written",
    [
        str.upper,
        lambda tag: f"  {tag} ",
        lambda tag: tag.replace(":", "=", 1),
        lambda tag: tag.replace(":", ':"', 1) + '"',
    ],
    ids=["upper-case", "spaced", "equals", "quoted"],
)
def test_a_timed_record_the_responder_reads_is_timed_by_the_statistics(written):
    told, acked = (written(f"{namespace}:2026-01-01T00:10:00Z;{rest}") for namespace, rest in TIMED_RECORDS)
    facts = case_facts({**BASE, "tags": [*BASE["tags"], told, acked]}, "phishFeedback", "Phishing report")

    assert [(r.address.lower(), r.at.timestamp()) for r in verdict_records([told])] == list(facts.told.items())
    assert facts.told and facts.acked == {"a@example.org": 1767226200.0}  # 2026-01-01T00:10:00Z


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
case_like = st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(st.just("Phishing report: x"), json_values),
        "_createdAt": st.one_of(st.integers(), json_values),
        "alertDate": json_values,
        "tags": st.one_of(
            st.lists(
                st.one_of(
                    st.sampled_from(
                        ["user_email:a@example.org", 'feedback_verdict:"2026-01-01T00:00:00Z;Spam;a@example.org"']
                    ),
                    st.text(max_size=40),
                    json_values,
                )
            ),
            json_values,
        ),
        "customFields": json_values,
        "customFieldValues": json_values,
    },
)


def test_a_reporter_corrected_later_is_timed_by_their_first_verdict_message():
    """docs/statistics.md: the time to feedback runs to the reporter's first verdict message, not to a correction."""
    tags = [
        *BASE["tags"],
        "feedback_verdict:2026-01-01T00:10:00Z;Spam;a@example.org",
        "feedback_verdict:2026-01-03T08:00:00Z;Phishing;a@example.org",
    ]
    facts = case_facts({**BASE, "tags": tags}, "phishFeedback", "Phishing report")

    assert facts.told == {"a@example.org": 1767226200.0}


def answered_after(minutes: list[int], sent_tag: bool = True) -> dict:
    """The feedback of one Spam case whose reporters were told so many minutes after it was made."""
    tags = []
    for number, minute in enumerate(minutes):
        address = f"r{number}@example.org"
        tags += [
            f"user_email:{address}",
            f"feedback_verdict:2026-01-01T{minute // 60:02d}:{minute % 60:02d}:00Z;Spam;{address}",
        ]
        tags += [f"feedback_sent:{address}"] if sent_tag else []
    tally = Tally()
    tally.add(case_facts({**BASE, "tags": tags, "customFieldValues": {"phishFeedback": "Spam"}}, "phishFeedback", "P"))
    return tally.result(top=0)["feedback"]


@pytest.mark.parametrize(("count", "p90_minutes"), [(10, 9), (20, 18), (11, 10)])
def test_the_90th_percentile_is_the_time_within_which_nine_reports_in_ten_were_answered(count, p90_minutes):
    feedback = answered_after(list(range(1, count + 1))[::-1])  # in no particular order

    assert feedback["p90_seconds"] == p90_minutes * 60


def test_a_report_answered_on_a_class_bound_counts_in_the_class_that_bound_begins():
    feedback = answered_after([14, 15, 59, 60, 239, 240])

    assert [d["reports"] for d in feedback["distribution"]] == [1, 2, 2, 1, 0, 0, 0]


def test_a_reporter_whose_case_holds_only_the_timed_record_is_answered():
    """As after an analyst removed the reporter's feedback_sent: to mail them again: they were answered before."""
    feedback = answered_after([5], sent_tag=False)

    assert (feedback["answered"], feedback["unanswered"], feedback["measured"]) == (1, 0, 1)


@pytest.mark.parametrize(
    "huge",
    [
        lambda n: {"tags": [f"note:{n:06d}" + "x" * (256 << 10)]},
        lambda n: {"tags": [f"user_email:{n:06d}" + "x" * (256 << 10)]},
        lambda n: {"customFieldValues": {"phishFeedback": f"{n:06d}" + "v" * (256 << 10)}},
    ],
    ids=["tag", "reporter-tag", "verdict"],
)
def test_what_a_read_keeps_of_its_cases_does_not_grow_with_the_size_of_their_tags_and_values(huge):
    """A page is counted and dropped (docs/statistics.md): a TheHive that sends values of megabytes must not have
    the read keep each of them until it ends."""
    tracemalloc.start()
    for number in range(100):
        case_facts({**BASE, **huge(number)}, "phishFeedback", "Phishing report")
    gc.collect()
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert kept < 4 << 20, f"{kept >> 20} MiB kept of the 25 MiB read"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(case_like, json_values), max_size=5))
def test_any_json_thehive_may_send_is_counted_or_passed_over_never_a_fault(cases):
    tally = Tally()
    for case in cases:
        facts = case_facts(case, "phishFeedback", "Phishing report")
        if facts is not None:
            tally.add(facts)

    result = tally.result(top=1000)

    assert result["cases"] == sum(result["verdicts"].values()) == sum(m["cases"] for m in result["months"])
    assert result["reports"] == sum(r["reports"] for r in result["top_reporters"])


def facts_of(page: object) -> list | None:
    """What the statistics take of a decoded page: each case's identity and facts; None for a page that is no list."""
    if not isinstance(page, list):
        return None
    return [
        (case.get("_id") or case.get("id") if isinstance(case, dict) else None, case_facts(case, "phishFeedback", "P"))
        for case in page
    ]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(case_like, json_values), max_size=5) | json_values, st.booleans())
def test_a_page_gives_the_same_facts_whichever_decoder_reads_it(page, ascii_only):
    body = json.dumps(page, ensure_ascii=ascii_only).encode()

    assert facts_of(page_decoded(body)) == facts_of(decoded(body))


class Terminal(io.StringIO):
    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "log"])
def test_a_short_read_says_nothing(terminal):
    stream, clock = Terminal(terminal), Clock()
    progress = Progress(stream, clock=clock)
    clock.now += 2
    progress(1000, 1000)
    progress.done()

    assert stream.getvalue() == ""


def ten_seconds_of_reading(terminal: bool) -> str:
    """What a read of 100,000 cases in 10 s prints, at a terminal or into a log."""
    stream, clock = Terminal(terminal), Clock()
    progress = Progress(stream, clock=clock)
    clock.now += 5
    progress(10000, 100000)
    clock.now += 5
    progress(100000, 100000)
    progress.done()
    return stream.getvalue()


def test_a_read_that_fails_after_showing_its_progress_ends_that_line_first():
    stream, clock = Terminal(True), Clock()
    progress = Progress(stream, clock=clock)
    clock.now += 5
    progress(1000, 1500)
    progress.cut()
    stream.write("thehive_stats: TheHive answered HTTP 500.\n")

    assert stream.getvalue().endswith("(200 a second)\nthehive_stats: TheHive answered HTTP 500.\n")


def test_a_long_read_shows_its_count_and_rate_at_a_terminal():
    printed = ten_seconds_of_reading(True)

    assert "10,000 of 100,000 cases read (2,000 a second)" in printed
    assert printed.endswith("read 100,000 cases in 10 s (10,000 a second)\n")


def test_a_long_read_logs_only_its_final_line_where_stderr_is_no_terminal():
    assert ten_seconds_of_reading(False) == "thehive_stats: read 100,000 cases in 10 s (10,000 a second)\n"


@pytest.mark.parametrize(
    "seconds, shown",
    [
        (59, "59 s"),
        (60, "1 min"),
        (119, "2 min"),
        (3569, "59 min"),
        (3570, "1.0 h"),
        (3599, "1.0 h"),
        (86219, "23.9 h"),
        (86220, "1.0 days"),
        (86399, "1.0 days"),
    ],
)
def test_a_time_is_shown_in_the_unit_it_rounds_to(seconds, shown):
    assert duration(seconds) == shown
