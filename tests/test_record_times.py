"""The record of what each reporter was told and when reads back to the second, in every form TheHive stores it.

TheHive 4.0 rewrites a tag it is given (testkit/thehive40_tags.py); 4.1 and 5 keep it as added.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from test_tags import over_addresses

from feedback.stats.records import first_times
from feedback.tags import (
    ACKNOWLEDGED_AT,
    Told,
    ack_time_tag,
    notified_addresses,
    verdict_records,
    verdict_tag,
)
from testkit.cases import thehive40_case
from testkit.cortex import ACKNOWLEDGE_MANIFEST
from testkit.records import TIME_FORMAT, acknowledged, told, untimed
from testkit.thehive40_tags import rendered, stored

AT = datetime(2026, 12, 4, 23, 58, 30, tzinfo=timezone.utc)
NO_BOUND = -math.inf, math.inf  # no time is read as before its case or dated by a clock far ahead
VERDICTS = ("Phishing", "Spam", "Legit email", "Simulation")
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(timezone.utc)
).map(lambda moment: moment.replace(microsecond=0))


@over_addresses
def test_a_verdict_record_reads_back_from_every_thehive_version(raw):
    tag = verdict_tag(raw, "Legit email", AT)
    for kept in (tag, rendered(tag), rendered(rendered(tag))):
        assert verdict_records([kept]) == [Told(raw, "Legit email", AT)], kept


@over_addresses
def test_an_acknowledgement_time_reads_back_from_every_thehive_version(raw):
    tag = ack_time_tag(raw, AT)
    for kept in (tag, rendered(tag)):
        assert first_times([kept], ACKNOWLEDGED_AT, *NO_BOUND) == ({raw.lower()}, {raw.lower(): AT.timestamp()}), kept


@given(moments, st.sampled_from(VERDICTS))
def test_the_time_reads_back_to_the_second_in_utc(at, verdict):
    assert verdict_records([rendered(verdict_tag("alice@example.org", verdict, at))])[0].at == at


def test_a_time_in_another_zone_is_recorded_in_utc():
    paris = datetime(2026, 12, 5, 0, 58, 30, tzinfo=timezone(timedelta(hours=1)))
    assert (
        verdict_tag("alice@example.org", "Spam", paris)
        == "feedback_verdict:2026-12-04T23:58:30Z;Spam;alice@example.org"
    )


def test_a_record_a_reader_cannot_parse_is_passed_over():
    tags = [
        "feedback_verdict:yesterday;Spam;alice@example.org",
        "feedback_verdict:2026-12-04T23:58:30Z;Spam",
        "feedback_ack_at:2026-12-04T23:58:30Z",
        "feedback_verdict:2026-12-04T23:58:30Z;Phishing;bob@example.org",
    ]
    assert verdict_records(tags) == [Told("bob@example.org", "Phishing", AT)]
    assert first_times(tags, ACKNOWLEDGED_AT, *NO_BOUND) == (set(), {})


# A record's value as written, as a hand may change it, or broken: each piece drawn from what may stand there.
_spaces = st.text(alphabet=" \t\n\u2003\u00a0", max_size=2)
_field = st.sampled_from(["Spam", "alice@example.org", "x=y@example.org", '"bob@example.org"']) | st.text(
    alphabet=' \n;="Zab@.-', max_size=4
)
_time = st.sampled_from(
    ["2026-12-04T23:58:30Z", "2026-02-30T23:58:30Z", "2026-12-04T24:00:00Z", "2026-12-04 23:58:30Z", ""]
)
_unquoted = st.tuples(
    _spaces,
    _time,
    _spaces,
    st.sampled_from([";", ";", ";", ";", "", ";;"]),
    _field,
    st.sampled_from([";", ";", ";", ""]),
    _field,
).map("".join)
_record_text = _unquoted | _unquoted.map('"{}"'.format)


@settings(max_examples=500, deadline=None)
@given(_record_text, st.sampled_from(["{}:", "{}=", " {}:", "{}:  "]), st.sampled_from([str.upper, str.title]))
def test_a_record_reads_the_same_whatever_the_case_and_separator_of_its_namespace(value, form, case):
    def ack_times(tags):
        return first_times(tags, ACKNOWLEDGED_AT, *NO_BOUND)

    for read, namespace in ((verdict_records, "feedback_verdict"), (ack_times, "feedback_ack_at")):
        assert read([form.format(case(namespace)) + value]) == read([f"{namespace}:{value}"])


def test_the_new_records_are_not_read_as_notified_addresses():
    tags = [verdict_tag("alice@example.org", "Spam", AT), ack_time_tag("bob@example.org", AT)]
    assert notified_addresses(tags) == set()
    assert notified_addresses(tags, "feedback_ack") == set()


def test_a_jobs_record_reads_back_through_thehive_40_and_the_next_job_sends_nothing(cortex, smtp):
    reporters = ["alice@example.org", "bounce=bob@example.org"]
    case = thehive40_case("Spam", reporters)
    first = cortex(case)
    after = stored(case, first.operations)
    second = cortex(after)

    assert first.success and second.success, (first.error, second.error)
    assert untimed(first) == [*told("Spam", *reporters), "mail sent"]
    times = [tag.split(";")[0].split(":", 1)[1].strip('"') for tag in first.tags if tag.startswith("feedback_verdict:")]
    assert [(r.address, r.verdict, r.at.strftime(TIME_FORMAT)) for r in verdict_records(after["tags"])] == [
        (address, "Spam", at) for address, at in zip(reporters, times)
    ]
    assert smtp.recipients() == reporters
    assert second.operations == [] and second.output["full"]["already_notified"] == reporters
    assert second.output["full"]["warnings"] == []


def test_an_acknowledgement_record_reads_back_through_thehive_40_and_is_not_sent_twice(cortex, smtp):
    case = thehive40_case(None, ["bounce=alice@example.org"])
    first = cortex(case, manifest=ACKNOWLEDGE_MANIFEST)
    after = stored(case, first.operations)
    second = cortex(after, manifest=ACKNOWLEDGE_MANIFEST)

    assert first.success and second.success, (first.error, second.error)
    assert untimed(first) == acknowledged("bounce=alice@example.org")
    ((address, at),) = first_times(after["tags"], ACKNOWLEDGED_AT, *NO_BOUND)[1].items()
    assert address == "bounce=alice@example.org"
    assert f"{datetime.fromtimestamp(at, timezone.utc).strftime(TIME_FORMAT)};bounce=alice@example.org" in first.tags[1]
    assert smtp.recipients() == ["bounce=alice@example.org"] and second.operations == []
