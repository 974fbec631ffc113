"""Which titles are phishing reports, and what of them is the reported subject.

A report reaches TheHive through mail systems and people: a gateway tags its subject ([EXT]), a
reporter forwards it (FW:, TR:, WG:), the title is written in brackets. Such a title is still a report
when it carries title_prefix after those; the reported subject is what follows the prefix.
"""

from __future__ import annotations

import os

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.case import SUBJECT_SEPARATORS, CaseError, read_report
from feedback.shown_text import one_line
from testkit.cases import thehive4_case

PREFIX = "Phishing report"
EXAMPLES = hypothesis.settings(max_examples=int(os.environ.get("PHISHFEEDBACK_EXAMPLES", "150")), deadline=None)


def reported_subject(title: str, prefix: str = PREFIX) -> str:
    return read_report(thehive4_case("Spam", title=title), "thehive:case", "phishFeedback", prefix).reported_subject


@pytest.mark.parametrize(
    ("title", "subject"),
    [
        ("Phishing report: Invoice overdue", "Invoice overdue"),
        ("[Phishing report] Invoice overdue", "Invoice overdue"),
        ("[ phishing REPORT ]: Invoice overdue", "Invoice overdue"),
        ("[EXT] Phishing report: Invoice overdue", "Invoice overdue"),
        ("[EXT][SPAM] [Phishing report] Invoice overdue", "Invoice overdue"),
        ("FW: Phishing report Invoice overdue", "Invoice overdue"),
        ("RE: Phishing report: Invoice overdue", "Invoice overdue"),
        ("TR: Phishing report - Facture impayée", "Facture impayée"),
        ("WG: Phishing report: Rechnung", "Rechnung"),
        ("AW: Phishing report | Rechnung", "Rechnung"),
        ("Fwd: Phishing report: Invoice overdue", "Invoice overdue"),
        ("fw:PHISHING REPORT: Invoice overdue", "Invoice overdue"),
        ("  [EXT]  Re : FW: Fwd:[SPAM]Phishing report: Invoice overdue", "Invoice overdue"),
        ("Phishing report: RE: Invoice overdue", "RE: Invoice overdue"),
        ("Phishing report", ""),
    ],
)
def test_title_carrying_the_prefix_after_tags_and_markers_is_a_report(title, subject):
    assert reported_subject(title) == subject


@pytest.mark.parametrize(
    "title",
    [
        "Invoice overdue",
        "[EXT] Ransomware on FS01",
        "RE: Invoice about a Phishing report",
        "Reply: Phishing report: Invoice overdue",
        "Fwd Phishing report: Invoice overdue",
        "[EXT Phishing report: Invoice overdue",
        "Ticket 12: Phishing report: Invoice overdue",
        "Phishing repo: Invoice overdue",
    ],
)
def test_title_without_the_prefix_at_its_start_is_refused_saying_what_is_accepted(title):
    with pytest.raises(CaseError) as refused:
        reported_subject(title)

    assert (
        "title must start with 'Phishing report', after any [tags] and reply or forward markers"
        " (RE:, FW:, Fwd:, TR:, WG:, AW:)"
    ) in str(refused.value)


def test_empty_prefix_answers_any_title_whole():
    assert reported_subject("  [EXT] RE: Suspicious invoice", prefix="") == "[EXT] RE: Suspicious invoice"


def test_refusal_of_a_long_title_of_tags_ends():
    with pytest.raises(CaseError):
        reported_subject("[x]" * 100_000 + " FW:" * 100_000 + "[" * 100_000)


MARKERS = st.lists(
    st.one_of(
        st.sampled_from(["RE:", "FW:", "Fwd:", "TR:", "WG:", "AW:", "re :", "fwd:"]),
        st.text(st.characters(blacklist_characters="[]"), max_size=12)
        .filter(lambda tag: PREFIX.lower() not in tag.lower())
        .map("[{}]".format),
    ),
    max_size=4,
)
SPACES = st.text(" \t", max_size=2)


def any_case(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if flip else c for c, flip in zip(text, flips + [False] * len(text)))


@EXAMPLES
@given(markers=MARKERS, space=SPACES, flips=st.lists(st.booleans()), subject=st.text())
def test_any_tags_and_markers_before_the_prefix_in_any_case_leave_the_subject_after_it(markers, space, flips, subject):
    title = space.join(markers) + space + any_case(PREFIX, flips) + ": " + subject

    assert reported_subject(title) == one_line((": " + subject).lstrip(SUBJECT_SEPARATORS))


@EXAMPLES
@given(space=SPACES, rest=st.text())
def test_every_title_accepted_before_keeps_its_reported_subject(space, rest):
    title = space + PREFIX + rest
    if not title.strip():
        return

    assert reported_subject(title) == one_line(rest.lstrip(SUBJECT_SEPARATORS))


@EXAMPLES
@given(title=st.text(min_size=1).filter(lambda t: t.strip() and "phishing report" not in t.lower()))
def test_a_title_that_never_names_the_prefix_is_refused(title):
    with pytest.raises(CaseError):
        reported_subject(title)


def test_forwarded_report_goes_out_through_a_job_quoting_the_subject(cortex, smtp):
    result = cortex(thehive4_case("Spam", title="[EXT] FW: Phishing report: Invoice overdue"))

    assert result.success, result.error
    assert "Invoice overdue" in smtp.delivered[0].message.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "reported",
    [
        "Ihr Paket konnte nicht zugestellt werden – bitte bestätigen Sie Ihre Adresse über",
        "0000\x1f\x1f\x08\x08\U00010000\U00010000\U00010000\n\x1b",
    ],
    ids=["long-german", "astral-and-controls"],
)
def test_a_subject_beyond_ascii_reaches_the_reporter_with_every_space(cortex, smtp, reported):
    title = f"Phishing report: {reported}"
    result = cortex(thehive4_case("Spam", title=title), subject="{case_title}")

    assert result.success, result.error
    assert smtp.delivered[0].message["Subject"] == one_line(title)
