"""Alerts: TheHive 4 and 5 send an alert's `artifacts` empty, so its observables come through the API.

TheHive 4.1+ and 5 answer the v1 query with `getAlert`; TheHive 3 and 4 have no search for an alert's
artifacts, but GET /api/alert/<id> returns the alert with them (docs/cortex-and-thehive.md §4, §5).
"""

from __future__ import annotations

import json

import pytest

from testkit.cases import thehive4_alert, thehive5_alert, thehive40_alert, thehive_alert
from testkit.cortex import ACKNOWLEDGE_MANIFEST, MANIFEST, apply_operations
from testkit.thehive40_tags import stored
from testkit.thehive_api import API_KEY, legacy_alert_answer, legacy_observable, v1_observable

V1 = "/api/v1/query"
SUBJECT = "Your parcel could not be delivered"
OBSERVABLES = [
    ("mail", "bob@example.org", ["reporter"]),
    ("mail", "parcels@evil.example", []),
    ("mail-subject", SUBJECT, []),
    ("file", None, []),
]
ALERTS = {"TheHive 4.0": thehive40_alert, "TheHive 4.1": thehive4_alert, "TheHive 5": thehive5_alert}


def alert_job(cortex, alert, **items):
    return cortex(alert, data_type="thehive:alert", **items)


@pytest.mark.parametrize("version", ALERTS)
def test_alert_observables_are_read_through_the_v1_query(cortex, smtp, thehive, api, version):
    alert = ALERTS[version]("Phishing", ())
    thehive.expect_request(V1, method="POST", query_string="name=alert-observables").respond_with_json(
        [v1_observable(*o) for o in OBSERVABLES]
    )
    result = alert_job(cortex, alert, subject="About: {reported_subject}", **api)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    assert smtp.delivered[0].message["Subject"] == f"About: {SUBJECT}"
    assert json.loads(thehive.log[0][0].data)["query"][0] == {"_name": "getAlert", "idOrName": alert["_id"]}
    assert {op["type"] for op in result.operations} == {"AddTagToAlert"}
    assert result.output["full"]["from_observables"]["reported_sender"] == "parcels@evil.example"


def test_alert_on_thehive_without_v1_is_read_from_the_alert_itself(cortex, smtp, thehive, api):
    alert = thehive4_alert("Spam", ())
    thehive.expect_request(V1).respond_with_data("Not found", status=404)
    thehive.expect_request("/api/alert/~40964", method="GET").respond_with_json(
        legacy_alert_answer(alert, [legacy_observable(*o) for o in OBSERVABLES])
    )
    result = alert_job(cortex, alert, **api)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    assert [request.path for request, _ in thehive.log] == [V1, "/api/alert/~40964"]


def test_alert_read_through_the_legacy_api_chosen_by_the_admin(cortex, smtp, thehive, api):
    alert = thehive4_alert("Spam", ())
    thehive.expect_request("/api/alert/~40964").respond_with_json(
        legacy_alert_answer(alert, [legacy_observable(*OBSERVABLES[0])])
    )
    result = alert_job(cortex, alert, thehive_api="legacy", **api)

    assert result.success, result.error
    assert [request.path for request, _ in thehive.log] == ["/api/alert/~40964"]


def test_alert_answer_without_artifacts_is_an_error(cortex, smtp, thehive, api):
    alert = thehive4_alert("Spam", ())
    thehive.expect_request("/api/alert/~40964").respond_with_json({"_id": "~40964"})
    result = alert_job(cortex, alert, thehive_api="legacy", **api)

    assert not result.success
    assert "did not answer with a list of observables" in result.error


@pytest.mark.parametrize("version", ALERTS)
def test_alert_with_only_observable_reporters_and_no_thehive_url_says_to_set_it(cortex, smtp, version):
    result = alert_job(cortex, ALERTS[version]("Spam", ()))

    assert not result.success
    assert "No reporter to answer" in result.error and "thehive_url" in result.error
    assert smtp.delivered == []


def test_alert_with_reporter_tags_needs_no_thehive_url(cortex, smtp):
    result = alert_job(cortex, thehive5_alert("Spam", ["alice@example.org"]))

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    assert {"type": "AddTagToAlert", "tag": "feedback_sent:alice@example.org"} in result.operations


def test_alert_api_failure_with_reporter_tags_sends_from_the_tags_and_warns(cortex, smtp, thehive, api):
    thehive.expect_request(V1).respond_with_data("busy", status=500)
    result = alert_job(cortex, thehive4_alert("Spam", ["alice@example.org"]), **api)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    [warning] = result.output["full"]["warnings"]
    assert "answered HTTP 500" in warning and "taken from the alert's tags only" in warning


def test_alert_api_failure_without_reporter_tags_is_an_error(cortex, smtp, thehive, api):
    thehive.expect_request(V1).respond_with_data("", status=401)
    result = alert_job(cortex, thehive5_alert("Spam", ()), **api)

    assert not result.success
    assert "refused the API key (HTTP 401)" in result.error
    assert API_KEY not in result.everything_printed()
    assert smtp.delivered == []


@pytest.mark.parametrize("version", ALERTS)
def test_alert_reporters_are_mailed_once_across_runs(cortex, smtp, thehive, api, version):
    alert = ALERTS[version]("Spam", ["bounce=alice@example.org"])
    thehive.expect_request(V1).respond_with_json([v1_observable(*OBSERVABLES[0])])
    first = alert_job(cortex, alert, **api)
    after = stored(alert, first.operations) if version == "TheHive 4.0" else apply_operations(alert, first)
    second = alert_job(cortex, after, **api)

    assert first.success and second.success, (first.error, second.error)
    assert sorted(smtp.recipients()) == ["bob@example.org", "bounce=alice@example.org"]
    assert second.operations == []


def test_a_reporter_observable_whose_value_ends_in_a_line_break_is_mailed(cortex, smtp):
    artifacts = [{"dataType": "mail", "data": "bob@example.org\n", "tags": ["reporter"]}]
    result = cortex(thehive_alert("Spam", (), artifacts=artifacts), data_type="thehive:alert")

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    assert result.output["full"]["refused"] == []


def test_an_alert_naming_one_reporter_in_thousands_of_artifacts_lists_them_once(cortex, smtp):
    artifacts = [{"dataType": "mail", "data": "bob@example.org", "tags": ["reporter"]}] * 3_000
    result = cortex(thehive_alert("Spam", (), artifacts=artifacts), data_type="thehive:alert")

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    assert result.output["full"]["from_observables"]["reporters"] == ["bob@example.org"]
    assert result.output["full"]["warnings"] == [], "one reporter is not thousands to list"


def test_an_alert_of_thousands_of_reporter_artifacts_lists_the_first_thousand_and_counts_them(cortex, smtp):
    artifacts = [{"dataType": "mail", "data": f"not-an-address-{n}", "tags": ["reporter"]} for n in range(1_500)] * 2
    artifacts.append({"dataType": "mail", "data": "bob@example.org", "tags": ["reporter"]})
    result = cortex(thehive_alert("Spam", (), artifacts=artifacts), data_type="thehive:alert")

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    full = result.output["full"]
    assert full["from_observables"]["reporters"] == [f"not-an-address-{n}" for n in range(1_000)]
    said = "1501 reporter values came from observables; full.from_observables.reporters lists the first 1000."
    assert any(warning.startswith(said) for warning in full["warnings"])


def test_a_reported_subject_of_a_megabyte_is_shown_cut_in_the_report(cortex, smtp):
    artifacts = [
        {"dataType": "mail", "data": "bob@example.org", "tags": ["reporter"]},
        {"dataType": "mail-subject", "data": "Parcel " * 150_000, "tags": []},
    ]
    result = cortex(thehive_alert("Spam", (), artifacts=artifacts), data_type="thehive:alert")

    assert result.success, result.error
    assert len(result.output["full"]["from_observables"]["reported_subject"]) == 1_000
    assert len(result.raw_output) < 20_000


@pytest.mark.parametrize("manifest", [MANIFEST, ACKNOWLEDGE_MANIFEST], ids=["verdict", "acknowledgement"])
def test_an_alert_already_imported_into_a_case_is_answered_on_the_case_not_on_the_alert(cortex, smtp, manifest):
    """TheHive copies an alert's tags into its case once, at the import: a run on the alert after it recorded on the
    alert alone, and the run on the case mailed the same reporter the same verdict (or thanks) again."""
    alert = {**thehive4_alert("Spam"), "case": "~41160752", "status": "Imported"}
    result = cortex(alert, data_type="thehive:alert", manifest=manifest)

    assert not result.success
    assert result.error.startswith(
        "This alert was imported or merged into TheHive case ~41160752: run Phish_Feedback on that case."
    )
    assert smtp.delivered == [] and result.operations == []
