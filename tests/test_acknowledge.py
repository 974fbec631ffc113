"""The acknowledgement flavour (Phish_Feedback_Acknowledge): thanks on receipt, its own record, then the verdict.

Each job runs as Cortex runs that flavour: the acknowledgement manifest's `config` merged into the
job's configuration (docs/flavours.md).
"""

from __future__ import annotations

import pytest

from testkit.cases import thehive4_alert, thehive4_case, thehive5_alert, thehive40_alert
from testkit.cortex import ACKNOWLEDGE_MANIFEST, apply_operations
from testkit.records import acknowledged, told, untimed
from testkit.thehive40_tags import stored

ALERTS = {
    "TheHive 4.0": (thehive40_alert, lambda alert, result: stored(alert, result.operations)),
    "TheHive 4.1": (thehive4_alert, apply_operations),
    "TheHive 5": (thehive5_alert, apply_operations),
}


@pytest.fixture
def acknowledge(cortex):
    """Runs one job of the acknowledgement flavour; keyword arguments as for `cortex`."""

    def run(data, **job):
        return cortex(data, manifest=ACKNOWLEDGE_MANIFEST, **job)

    return run


def texts(smtp) -> list[str]:
    return [d.message.get_body(("plain",)).get_content().replace("\r\n", "\n") for d in smtp.delivered]


@pytest.mark.parametrize("field", [None, "not a verdict"])
def test_each_reporter_of_a_case_is_thanked_and_recorded_with_case_tags(acknowledge, smtp, field):
    result = acknowledge(thehive4_case(field, ["alice@example.org", "bob@example.org"]))

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org", "bob@example.org"]
    message = smtp.delivered[0].message
    assert message["Subject"] == "We received your phishing report"
    text = texts(smtp)[0]
    assert 'reporting the message "Invoice overdue"' in text
    assert "We will write to you again once we know what it is." in text
    assert {op["type"] for op in result.operations} == {"AddTagToCase"}
    assert untimed(result) == acknowledged("alice@example.org", "bob@example.org")
    assert result.output["full"]["message"] == "Acknowledgement sent to 2 reporter(s)."
    assert result.output["full"]["verdict"] is None


def test_an_alert_above_max_tlp_names_the_alert_and_the_acknowledgement_responder(acknowledge, smtp):
    result = acknowledge(thehive4_alert(None), data_type="thehive:alert", tlp=3)

    assert not result.success
    assert result.error.startswith("The alert's TLP (3) is above this responder's Max TLP (2), so nothing was sent.")
    assert "raise Max TLP for Phish_Feedback_Acknowledge (Organisation, Responders)." in result.error
    assert smtp.delivered == []


@pytest.mark.parametrize("version", ALERTS)
def test_an_alert_is_acknowledged_once_across_runs_with_alert_tags(acknowledge, smtp, version):
    make_alert, thehive_applies = ALERTS[version]
    alert = make_alert(None)
    first = acknowledge(alert, data_type="thehive:alert")
    second = acknowledge(thehive_applies(alert, first), data_type="thehive:alert")

    assert first.success and second.success, (first.error, second.error)
    assert {op["type"] for op in first.operations} == {"AddTagToAlert"}
    assert untimed(first) == acknowledged("alice@example.org")
    assert smtp.recipients() == ["alice@example.org"]
    assert second.operations == []
    assert second.output["full"]["already_notified"] == ["alice@example.org"]
    assert "already acknowledged or given the verdict; nothing was sent" in second.output["full"]["message"]


@pytest.mark.parametrize("record", ["feedback_sent", "feedback_unsure"], ids=["given", "may-have-been-given"])
def test_a_reporter_who_already_has_the_verdict_is_not_acknowledged(acknowledge, smtp, record):
    case = thehive4_case("Spam", ["alice@example.org", "bob@example.org"], tags=[f"{record}:alice@example.org"])
    result = acknowledge(case)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    assert result.output["full"]["already_notified"] == ["alice@example.org"]
    assert untimed(result) == acknowledged("bob@example.org")


def test_the_verdict_still_goes_to_an_acknowledged_reporter_as_its_own_message(acknowledge, cortex, smtp):
    case = thehive4_case(None)
    acknowledged = apply_operations(case, acknowledge(case))
    acknowledged["customFields"]["phishFeedback"]["string"] = "Phishing"
    verdict = cortex(acknowledged)

    assert verdict.success, verdict.error
    assert smtp.recipients() == ["alice@example.org", "alice@example.org"]
    assert [d.message["Subject"] for d in smtp.delivered] == [
        "We received your phishing report",
        "Phishing report feedback",
    ]
    assert "Well spotted!" in texts(smtp)[1]
    assert untimed(verdict) == [*told("Phishing", "alice@example.org"), "mail sent"]


def test_the_acknowledgement_answers_only_phishing_reports_as_the_verdict_does(acknowledge, smtp):
    result = acknowledge(thehive4_case(None, title="Quarterly figures"))

    assert not result.success
    assert "the case title must start with 'Phishing report'" in result.error
    assert smtp.delivered == []


def test_an_unreached_reporter_gets_no_record_and_is_tried_again_next_run(acknowledge, smtp):
    smtp.faults.refuse["bob@example.org"] = "550 5.1.1 <bob@example.org>: mailbox unavailable"
    case = thehive4_case(None, ["alice@example.org", "bob@example.org"])
    result = acknowledge(case)
    smtp.faults.refuse.clear()
    again = acknowledge(apply_operations(case, result))

    assert result.success, result.error
    assert untimed(result) == acknowledged("alice@example.org")
    assert result.output["full"]["failed"][0]["address"] == "bob@example.org"
    assert "could not be reached" in result.output["full"]["message"]
    assert again.success, again.error
    assert smtp.recipients() == ["alice@example.org", "bob@example.org"]


def test_template_acknowledge_replaces_the_shipped_text_and_cannot_name_a_verdict(acknowledge, smtp):
    thanked = acknowledge(thehive4_case(None), template_acknowledge="Got it, {reporter}: {reported_subject}.")
    refused = acknowledge(thehive4_case(None, ["bob@example.org"]), template_acknowledge="Verdict: {verdict}")

    assert thanked.success, thanked.error
    assert texts(smtp) == ["Got it, alice@example.org: Invoice overdue.\n"]
    assert not refused.success
    assert "template_acknowledge uses the unknown placeholder {verdict}" in refused.error


def test_a_manifest_naming_an_unknown_flavour_is_an_error_before_anything_goes_out(cortex, smtp):
    result = cortex(thehive4_case("Spam"), flavour="remind")

    assert not result.success
    assert "names the flavour 'remind'" in result.error
    assert smtp.delivered == []


def test_a_dry_run_previews_the_acknowledgement_and_records_nothing(acknowledge, smtp):
    result = acknowledge(thehive4_alert(None), data_type="thehive:alert", dry_run=True)

    assert result.success, result.error
    assert smtp.delivered == [] and result.operations == []
    preview = result.output["full"]["preview"][0]
    assert preview["subject"] == "We received your phishing report"
    assert '"Your parcel is waiting"' in preview["text"]


def test_a_shared_subject_naming_the_verdict_gives_way_to_the_acknowledgements_own(acknowledge, cortex, smtp):
    shared = {"subject": "Your report: {verdict}"}
    thanked = acknowledge(thehive4_case(None, ["alice@example.org"]), **shared)
    answered = cortex(thehive4_case("Spam", ["bob@example.org"]), **shared)

    assert thanked.success and answered.success, (thanked.error, answered.error)
    assert [str(d.message["Subject"]) for d in smtp.delivered] == [
        "We received your phishing report",
        "Your report: Spam",
    ]
    assert thanked.output["full"]["warnings"] == [
        "The acknowledgement has its own shipped subject: the configured subject names {verdict}, and an"
        " acknowledgement goes out before any verdict. To have one subject in both responders' messages, write it"
        " without {verdict} (Organisation → Responders, in Phish_Feedback and in Phish_Feedback_Acknowledge alike)."
    ]
    assert answered.output["full"]["warnings"] == []


def test_a_shared_signature_naming_the_verdict_gives_way_to_the_acknowledgements_own(acknowledge, smtp):
    result = acknowledge(thehive4_case(None), signature="SOC desk, verdict: {verdict}")

    assert result.success, result.error
    assert "team straight away.\n\nThe Security Operations Centre\n\nReference: case 42" in texts(smtp)[0]
    assert "verdict:" not in texts(smtp)[0]
    assert "its own shipped signature" in result.output["full"]["warnings"][0]
