"""Reporter tags and the record, in every form TheHive 4.0, 4.1 (fresh or upgraded from 4.0) and 5 store them.

TheHive 4.0's rewriting is imitated by a port of its tag parser and renderer (testkit/thehive40_tags.py);
TheHive 4.1 and 5 keep a tag as it was added (docs/cortex-and-thehive.md §4).
"""

from __future__ import annotations

import os
import string
from datetime import datetime, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feedback.addresses import AddressError, parse_address
from feedback.case import CaseError, Observable, Report
from feedback.flavours import VERDICT_FLAVOUR
from feedback.plan import Audience, decide
from feedback.tags import NOTIFIED, notified_addresses, record_operations, record_tag, record_time, tag_values
from testkit.cases import thehive4_case, thehive5_case, thehive40_case
from testkit.cortex import apply_operations
from testkit.thehive40_tags import parse, render, rendered, stored

EXAMPLES = int(os.environ.get("PHISHFEEDBACK_EXAMPLES", "300"))
ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
QTEXT = "".join(chr(c) for c in range(32, 127))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Local parts as RFC 5322 allows them, with '=', '.', "'", '+' and '_' drawn often.
_atom = st.text(alphabet=st.sampled_from(ATEXT + "=='+_" * 3), min_size=1, max_size=8)
_local = st.one_of(
    st.lists(_atom, min_size=1, max_size=3).map(".".join),
    st.text(alphabet=QTEXT, min_size=1, max_size=10).map(_quoted),
)
_domain = st.lists(
    st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=6), min_size=2, max_size=3
)
raw_addresses = st.builds(lambda local, labels: f"{local}@{'.'.join(labels)}", _local, _domain)


UNUSUAL = [
    "bounce=foo@example.org",
    "first.last@example.org",
    "o'neil+phish@example.org",
    '"john doe"@example.org',
    '"a b="@example.org',
    "_list=alice@example.org",
]


def over_addresses(test):
    """Generated addresses, and always the unusual ones TheHive 4.0 treats each its own way."""
    for raw in UNUSUAL:
        test = example(raw)(test)
    return settings(max_examples=EXAMPLES, deadline=None)(given(raw_addresses)(test))


RECORDED_AT = datetime(2026, 12, 4, 23, 58, 30, tzinfo=timezone.utc)
# Reporters named by the tag "reporter", mailed in any domain, told the verdict and corrected.
AUDIENCE = Audience("reporter", (), False, VERDICT_FLAVOUR, True, {})


def _report(tags) -> Report:
    return Report("case", "~1", "1", "Phishing report: x", "x", None, "Spam", tuple(tags), ())


def _address(raw: str) -> str | None:
    """The address as the responder mails it, when it reads that back as itself (the standard library
    turns '"."@x.org' into '.@x.org', which it then refuses: not a question of tags)."""
    try:
        address = parse_address(raw)
        return address if parse_address(address) == address else None
    except AddressError:
        return None


@pytest.mark.parametrize(
    ("added", "shown"),
    [
        # TheHive 4.0.5's own expectations (TagTest.scala), default namespace left out when shown.
        ("Module:atest_blah_blah", 'Module="atest_blah_blah"'),
        ("Id:7SeUoB3IBABD+tMh2PjVJYg==", 'Id="7SeUoB3IBABD+tMh2PjVJYg=="'),
        ("domain: google.com", 'domain="google.com"'),
        ("ip:8.8.8.8#FF00FF", 'ip="8.8.8.8"'),
        ("case:#42#FF00FF", 'case="#42"'),
        # What docs/cortex-and-thehive.md §4 says of the responder's own tags.
        ("feedback_sent:alice@x.org", 'feedback_sent="alice@x.org"'),
        ("user_email:bounce=foo@x.org", 'user_email:bounce="foo@x.org"'),
        ("mail sent", "mail sent"),
    ],
)
def test_the_port_renders_tags_as_thehive40_does(added, shown):
    assert rendered(added) == shown


def test_the_port_parses_namespace_predicate_and_value_as_thehive40_does():
    assert parse("user_email:bounce=foo@x.org") == ("user_email", "bounce", "foo@x.org", 0)
    assert parse("Id:7SeUoB3IBABD+tMh2PjVJYg==", "_default_namespace_") == (
        "_default_namespace_",
        "Id",
        "7SeUoB3IBABD+tMh2PjVJYg==",
        0,
    )
    assert render(parse("user_email:_list=alice@x.org")) == 'user_email:="alice@x.org"'


@over_addresses
def test_reporter_tag_is_read_as_stored_or_refused_never_misread(raw):
    address = _address(raw)
    if address is None:
        return
    added = f"user_email:{address}"
    for form, tag in (("as added (TheHive 4.1, 5)", added), ("as TheHive 4.0 shows it", rendered(added))):
        try:
            decision = decide(_report([tag]), [], AUDIENCE, record_time())
        except CaseError as refused:
            # Only TheHive 4.0 can lose part of an address; the refusal then says so, and nobody is mailed.
            assert form.startswith("as TheHive 4.0") and "TheHive 4.0 dropped" in str(refused), (tag, str(refused))
            continue
        assert decision.recipients == (address,), (form, tag)


@over_addresses
def test_record_is_recognised_in_every_form_thehive_stores(raw):
    address = _address(raw)
    if address is None:
        return
    operations = record_operations("case", "Spam", {address: RECORDED_AT}, [], [], "mail sent", "mail failed")
    record = [operation["tag"] for operation in operations[:2]]  # feedback_sent and feedback_verdict
    reporter = [Observable("mail", address, ("reporter",))]
    for tags in (record, [rendered(tag) for tag in record]):
        decision = decide(_report(tags), reporter, AUDIENCE, record_time())
        assert (decision.recipients, decision.already_notified, decision.untold) == ((), (address,), ()), tags


# Domains as the address parser takes them (dot-atoms): '#' and the rest of atext drawn too.
_any_domain = st.lists(st.text(alphabet=ATEXT + "#abcdef" * 3, min_size=1, max_size=8), min_size=2, max_size=3)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.builds(lambda local, labels: f"{local}@{'.'.join(labels)}", _local, _any_domain))
@example("alice@example.org#abcdef")
@example("alice@example.org#ABCDEF")
def test_every_address_the_responder_accepts_has_a_record_thehive40_stores_as_itself(raw):
    try:
        recipients = decide(_report([f"user_email:{raw}"]), [], AUDIENCE, record_time()).recipients
    except CaseError:
        return
    for address in recipients:
        record = record_tag(NOTIFIED, address)
        assert notified_addresses([rendered(record)]) == {address.lower()}, (record, rendered(record))


def test_address_ending_in_a_thehive40_colour_is_refused_and_the_real_one_still_mailed(cortex, smtp):
    forged, real = "alice@example.org#abcdef", "alice@example.org"
    first = cortex(thehive4_case("Spam", [forged, "bob@example.org"]))
    second = cortex(stored(thehive40_case("Spam", [forged, "bob@example.org", real]), first.operations))

    assert first.success and second.success, (first.error, second.error)
    assert [r["value"] for r in first.output["full"]["refused"]] == [forged]
    assert "not a host name" in first.output["full"]["refused"][0]["reason"]
    assert smtp.recipients() == ["bob@example.org", real]


def test_record_written_by_earlier_versions_and_shown_by_thehive40_is_recognised():
    earlier = rendered("feedback_sent:bounce=foo@example.org")
    decision = decide(_report(["user_email:bounce=foo@example.org", earlier]), [], AUDIENCE, record_time())

    assert earlier == 'feedback_sent:bounce="foo@example.org"'
    assert decision.already_notified == ("bounce=foo@example.org",) and decision.recipients == ()


REPORTERS = ["bounce=foo@example.org", "first.last@example.org", "o'neil+soc@example.org", '"john doe"@example.org']
VERSIONS = {
    "TheHive 4.0": (lambda: thehive40_case("Spam", REPORTERS), lambda case, result: stored(case, result.operations)),
    "TheHive 4.1": (lambda: thehive4_case("Spam", REPORTERS), apply_operations),
    "TheHive 5": (lambda: thehive5_case("Spam", REPORTERS), apply_operations),
}


@pytest.mark.parametrize("version", VERSIONS)
def test_reporters_with_unusual_addresses_are_mailed_once_across_runs(cortex, smtp, version):
    make_case, thehive_applies = VERSIONS[version]
    case = make_case()
    first = cortex(case)
    second = cortex(thehive_applies(case, first))

    assert first.success and second.success, (first.error, second.error)
    assert sorted(smtp.recipients()) == sorted(REPORTERS)
    assert sorted(second.output["full"]["already_notified"]) == sorted(REPORTERS)
    assert second.operations == []


def test_address_thehive40_cut_is_refused_and_nobody_else_is_mailed(cortex, smtp):
    case = thehive40_case("Spam", ["_list=alice@example.org"])
    result = cortex(case)

    assert case["tags"][1] == 'user_email:="alice@example.org"'
    assert not result.success
    assert "TheHive 4.0 dropped the part of the address before '='" in result.error
    assert 'user_email:\\"<address>\\"' in result.raw_output
    assert smtp.delivered == []


def test_reporters_outside_the_allowed_domains_point_at_the_setting(cortex, smtp):
    result = cortex(thehive4_case("Spam", ["alice@partner.example"]), allowed_recipient_domains=["example.org"])

    assert not result.success
    assert "allowed_recipient_domains" in result.error.split("). ", 1)[1]
    assert "ask the Cortex admin to add their domain" in result.error
    assert "in Phish_Feedback and in Phish_Feedback_Acknowledge alike" in result.error
    assert smtp.delivered == []


def test_reporters_refused_some_for_their_domain_and_some_for_their_form_point_at_the_setting_too(cortex, smtp):
    case = thehive4_case("Spam", ["alice@partner.example", "not-an-address"])
    result = cortex(case, allowed_recipient_domains=["example.org"])

    assert not result.success
    assert "ask the Cortex admin to add their domain to allowed_recipient_domains" in result.error
    assert smtp.delivered == []


NAMESPACES = ("user_email", "feedback_sent", "feedback_ack", "feedback_ack_at", "feedback_verdict")
# What may come before a namespace and how it may be written: white space (some only Unicode calls so), any case,
# and characters outside ASCII that lower to ASCII letters (the Kelvin sign to 'k').
_spelt = st.builds(
    lambda lead, name, separator, value: f"{lead}{name}{separator}{value}",
    st.sampled_from(["", " ", "\t", "\n ", "\x1c", "\u3000", "x"]),
    st.sampled_from(NAMESPACES).flatmap(
        lambda name: st.sampled_from([name, name.upper(), name.title(), name.replace("k", "\u212a"), name[:-1]])
    ),
    st.sampled_from([":", "=", " :", "_at:", ""]),
    st.text(max_size=12),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.one_of(_spelt, st.text(max_size=20)), max_size=6), st.sampled_from(NAMESPACES + ("",)))
def test_a_tag_is_read_as_its_namespaces_however_it_is_spelt(tags, namespace):
    prefix = namespace.lower()

    def written_so(tag: str) -> bool:
        text = tag.strip()
        return text[: len(prefix)].lower() == prefix and text[len(prefix) : len(prefix) + 1] in (":", "=")

    assert [tag for tag in tags if tag_values([tag], namespace)] == [tag for tag in tags if written_so(tag)]
